/**
 * Reading helpers shared by the stats parsers: a missing or wrongly typed field is absent and
 * named in `missing`, never a crash; a payload that is not a JSON object is an error text.
 */

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseJson(text: string, what: string): Json | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: `${what}: not JSON (${text.trim().slice(0, 40) || 'empty'})` };
  }
  return isObject(v) ? v : { error: `${what}: not a JSON object` };
}

/** Reads `obj.a.b` as a finite number; records the path in `missing` otherwise. */
export function num(obj: unknown, path: string, missing: string[]): number | null {
  let cur: unknown = obj;
  for (const key of path.split('.')) cur = isObject(cur) ? cur[key] : undefined;
  if (typeof cur === 'number' && Number.isFinite(cur)) return cur;
  missing.push(path);
  return null;
}

export function lossPct(lost: number | null, received: number | null): number | null {
  if (lost === null || received === null) return null;
  const total = lost + received;
  return total > 0 ? (lost / total) * 100 : 0;
}
