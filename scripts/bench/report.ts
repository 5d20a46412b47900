/** Shared pieces of the benchmark reports: percentiles, a latency table row, the machine line. */
import { execSync } from 'node:child_process';
import os from 'node:os';

/** Nearest-rank percentile (p in 0–100) of the values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

/** `| name | n | p50 | p95 | max |` with `digits` decimals. */
export function latencyRow(name: string, v: number[], digits: number): string {
  const f = (x: number) => x.toFixed(digits);
  return `| ${name} | ${v.length} | ${f(percentile(v, 50))} | ${f(percentile(v, 95))} | ${f(Math.max(...v))} |`;
}

/** Cores, memory, OS and Node version. */
export function machine(): string {
  let osName = `${os.type()} ${os.release()}`;
  try {
    osName =
      execSync('. /etc/os-release && echo "$PRETTY_NAME"', { shell: '/bin/sh' }).toString().trim() || osName;
  } catch {
    // Not every system has /etc/os-release; the kernel name is then the best description.
  }
  return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${osName}, Node ${process.version}`;
}
