import type { z } from 'zod';

/**
 * Reads facts out of the zod config schema (bounds, enum values, leaf kinds) so that error lines and
 * environment overrides are derived from the one schema instead of a second hand-kept table.
 */

type AnySchema = z.core.$ZodType;
interface Def {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  in?: AnySchema;
  entries?: Record<string, string>;
  values?: unknown[];
  checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } }[];
  format?: string;
}

function def(s: AnySchema): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const d = def(cur);
    if (
      (d.type === 'default' || d.type === 'optional' || d.type === 'nullable' || d.type === 'prefault') &&
      d.innerType
    ) {
      cur = d.innerType;
    } else if (d.type === 'pipe' && d.in) {
      cur = d.in;
    } else {
      return cur;
    }
  }
}

export function schemaAt(root: AnySchema, p: readonly PropertyKey[]): AnySchema | undefined {
  let cur: AnySchema | undefined = root;
  for (const k of p) {
    if (!cur) return undefined;
    const d = def(unwrap(cur));
    if (d.type === 'object' && d.shape && typeof k === 'string') cur = d.shape[k];
    else if (d.type === 'array' && d.element) cur = d.element;
    else if (d.type === 'record' && d.valueType) cur = d.valueType;
    else return undefined;
  }
  return cur;
}

/** A human description of what a key accepts: "integer 0..60000", "one of a|b", "true or false". */
export function describeAllowed(root: AnySchema, p: readonly PropertyKey[]): string {
  const s = schemaAt(root, p);
  if (!s) return 'no such key';
  const d = def(unwrap(s));
  switch (d.type) {
    case 'number': {
      let min: number | undefined;
      let max: number | undefined;
      let integer = false;
      for (const c of d.checks ?? []) {
        const cd = c._zod.def;
        if (cd.check === 'greater_than') min = cd.value;
        if (cd.check === 'less_than') max = cd.value;
        if (cd.check === 'number_format' && cd.format?.includes('int')) integer = true;
      }
      if (d.format?.includes('int')) integer = true;
      return `${integer ? 'integer' : 'number'} ${min ?? '-inf'}..${max ?? 'inf'}`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values(d.entries ?? {}).join(' | ')}`;
    case 'literal':
      return `exactly ${(d.values ?? []).map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'string':
      return d.format === 'url' ? 'a URL (http://… or https://…)' : 'text';
    case 'array':
      return 'a list';
    case 'object':
      return 'a table';
    case 'record':
      return 'a table of tables';
    default:
      return d.type;
  }
}

export type LeafKind = 'number' | 'boolean' | 'string' | 'string[]';

export interface EnvTarget {
  envName: string;
  path: string[];
  kind: LeafKind;
}

/** Every scalar key reachable through tables (not arrays of tables) as `TELEMY_<SECTION>_<KEY>`. */
export function envOverrideTargets(root: AnySchema): EnvTarget[] {
  const out: EnvTarget[] = [];
  const walk = (s: AnySchema, p: string[]) => {
    const d = def(unwrap(s));
    if (d.type === 'object' && d.shape) {
      for (const [k, child] of Object.entries(d.shape)) walk(child, [...p, k]);
      return;
    }
    if (p.length < 2) return;
    const kind = leafKind(d);
    if (kind) out.push({ envName: `TELEMY_${p.join('_').toUpperCase()}`, path: p, kind });
  };
  walk(root, []);
  return out;
}

function leafKind(d: Def): LeafKind | null {
  if (d.type === 'number') return 'number';
  if (d.type === 'boolean') return 'boolean';
  if (d.type === 'string' || d.type === 'enum') return 'string';
  if (d.type === 'array' && d.element && def(unwrap(d.element)).type === 'string') return 'string[]';
  return null;
}

export function parseEnvValue(
  value: string,
  kind: LeafKind,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  switch (kind) {
    case 'number': {
      const n = Number(value.trim());
      return value.trim() !== '' && Number.isFinite(n)
        ? { ok: true, value: n }
        : { ok: false, reason: 'not a number' };
    }
    case 'boolean': {
      const v = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return { ok: true, value: true };
      if (['false', '0', 'no', 'off'].includes(v)) return { ok: true, value: false };
      return { ok: false, reason: 'not a boolean' };
    }
    case 'string[]':
      return {
        ok: true,
        value: value
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== ''),
      };
    default:
      return { ok: true, value };
  }
}

/**
 * The candidate a typo most likely meant: at most two edits away (a swap of neighbours is one edit),
 * or null. Two is enough for a slip of the keyboard and too few to turn one real key into another.
 */
export function closestName(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = d;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}
