const W = 300;
const H = 48;

export interface SparklineProps {
  label: string;
  t: number[];
  values: (number | null)[];
  windowMs: number;
  /** Dashed horizontal lines, e.g. the low and offline thresholds (0 = off, not drawn). */
  marks: { value: number; label: string }[];
  format: (v: number | null) => string;
}

/**
 * Inline SVG sparkline over a fixed time window, so the line does not stretch as history fills up.
 * Gaps (null samples) break the line instead of drawing a false zero.
 */
export function Sparkline({ label, t, values, windowMs, marks, format }: SparklineProps) {
  const end = t.length ? t[t.length - 1]! : 0;
  const start = end - windowMs;
  const shown = marks.filter((m) => m.value > 0);
  const max = Math.max(1, ...values.map((v) => v ?? 0), ...shown.map((m) => m.value * 1.15));
  const x = (at: number) => ((at - start) / windowMs) * W;
  const y = (v: number) => H - 2 - (v / max) * (H - 4);
  const segments: string[] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length) segments.push(current.join(' '));
      current = [];
      return;
    }
    current.push(`${x(t[i]!).toFixed(1)},${y(v).toFixed(1)}`);
  });
  if (current.length) segments.push(current.join(' '));
  const latest = values.length ? values[values.length - 1]! : null;
  return (
    <figure class="spark">
      <figcaption>
        <span>
          {label}
          {shown.length > 0 && <span class="spark-legend"> ┄ {shown.map((m) => m.label).join(' · ')}</span>}
        </span>
        <span class="num">{format(latest)}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${label}, last 5 minutes`}
      >
        {shown.map((m) => (
          <line key={m.label} class="spark-mark" x1="0" x2={W} y1={y(m.value)} y2={y(m.value)} />
        ))}
        {segments.map((pts) =>
          pts.includes(' ') ? (
            <polyline key={pts} class="spark-line" points={pts} vector-effect="non-scaling-stroke" />
          ) : (
            <circle key={pts} class="spark-dot" cx={pts.split(',')[0]} cy={pts.split(',')[1]} r="1.5" />
          ),
        )}
      </svg>
    </figure>
  );
}
