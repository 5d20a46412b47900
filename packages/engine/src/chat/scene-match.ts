/**
 * `!switch <query>` → one scene name. Rule, first step that yields exactly one scene wins:
 *  1. exact match, 2. the scene name starts with the query, 3. the scene name contains the query,
 *  4. the smallest edit distance, if it is at most a third of the query's length (min 1) and unique.
 * Comparison ignores case, spaces, `_` and `-`. Several candidates at steps 1-3 → ambiguous
 * (the reply lists them); nothing at all → no match. Never guesses between equals.
 */

export type SceneMatch =
  | { kind: 'match'; scene: string }
  | { kind: 'ambiguous'; candidates: string[] }
  | { kind: 'none' };

function key(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_-]+/gu, '');
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

function decide(candidates: string[]): SceneMatch | null {
  if (candidates.length === 1) return { kind: 'match', scene: candidates[0]! };
  if (candidates.length > 1) return { kind: 'ambiguous', candidates };
  return null;
}

export function matchScene(query: string, scenes: readonly string[]): SceneMatch {
  const q = key(query);
  if (!q) return { kind: 'none' };
  const keyed = scenes.map((name) => ({ name, k: key(name) }));
  const steps: Array<(k: string) => boolean> = [(k) => k === q, (k) => k.startsWith(q), (k) => k.includes(q)];
  for (const test of steps) {
    const found = decide(keyed.filter((s) => test(s.k)).map((s) => s.name));
    if (found) return found;
  }
  const limit = Math.max(1, Math.floor(q.length / 3));
  let best = Number.POSITIVE_INFINITY;
  let names: string[] = [];
  for (const s of keyed) {
    const d = editDistance(q, s.k);
    if (d < best) {
      best = d;
      names = [s.name];
    } else if (d === best) {
      names.push(s.name);
    }
  }
  if (best > limit) return { kind: 'none' };
  return decide(names) ?? { kind: 'none' };
}
