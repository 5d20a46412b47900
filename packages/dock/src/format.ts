/** Display formatting shared by the panels. Unknown values render as an em dash, never as 0. */

export const DASH = '—';

export function elapsed(s: number | null): string {
  if (s === null) return DASH;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

export function kbps(v: number | null): string {
  if (v === null) return DASH;
  return v >= 1000 ? `${(v / 1000).toFixed(1)} Mb/s` : `${Math.round(v)} kb/s`;
}

export function ms(v: number | null): string {
  return v === null ? DASH : `${Math.round(v)} ms`;
}

export function pct(v: number | null, digits = 0): string {
  return v === null ? DASH : `${v.toFixed(digits)} %`;
}

export function num(v: number | null, digits = 0): string {
  return v === null ? DASH : v.toFixed(digits);
}

export function duration(s: number | null): string {
  if (s === null) return DASH;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

export function clock(atMs: number): string {
  const d = new Date(atMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Hours and minutes of a clock time, in the viewer's time zone. */
function hhmm(atMs: number): string {
  const d = new Date(atMs);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The YouTube quota line: the steady poll pace and how long the quota lasts at it, from `nowMs`. */
export function quotaPace(
  p: { poll_interval_ms: number; lasts_until_ms: number | null; resets_at_ms: number },
  nowMs: number,
): string {
  const every = `polls every ${Math.round(p.poll_interval_ms / 100) / 10} s`;
  if (p.lasts_until_ms === null)
    return `${every} · quota lasts until the daily reset (${hhmm(p.resets_at_ms)})`;
  const left = Math.max(0, Math.round((p.lasts_until_ms - nowMs) / 60_000) * 60);
  return `${every} · quota lasts ${duration(left)} at this pace (until ${hhmm(p.lasts_until_ms)})`;
}
