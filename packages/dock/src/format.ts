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
