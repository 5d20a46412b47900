/**
 * What the benchmark reports share: percentiles and latency rows, the machine and load lines, and
 * writing a report (whole, or one bench's section of a shared file).
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Nearest-rank percentile (p in 0–100) of the values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

/**
 * The value at index ⌊p/100 · n⌋ of the sorted values: the definition the IPC and engine-resources
 * reports have always used (one rank above nearest-rank when p/100 · n is whole), kept so their
 * published figures stay comparable with reruns.
 */
export function percentileAtIndex(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Count, nearest-rank p50 and p95, and maximum. */
export function summary(values: number[]): { n: number; p50: number; p95: number; max: number } {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length ? Math.max(...values) : Number.NaN,
  };
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

/** The 1-minute load average now. */
export function load1(): number {
  return os.loadavg()[0] ?? 0;
}

/** The 1, 5 and 15-minute load averages, e.g. `3.10 / 2.50 / 2.00`. */
export function loadAverages(digits = 2, separator = ' / '): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(digits))
    .join(separator);
}

/** `1-minute load average 1.2 before the run, 3.4 after`, the second figure read now. */
export function loadDuring(before: number): string {
  return `1-minute load average ${before.toFixed(1)} before the run, ${load1().toFixed(1)} after`;
}

/** Writes a report, creating its folder. */
export function writeReport(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** What a report file holds from `marker` on (a part another bench or a person keeps there), or null. */
export function keptFrom(file: string, marker: string): string | null {
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = doc.indexOf(marker);
  return at >= 0 ? doc.slice(at) : null;
}

/**
 * Replaces the section between `<!-- <bench> bench: start -->` and its end marker in a report file
 * shared by several benches, or appends it, leaving the rest of the file as it is.
 */
export function writeSection(file: string, bench: string, section: string): void {
  const startMarker = `<!-- ${bench} bench: start -->`;
  const endMarker = `<!-- ${bench} bench: end -->`;
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  const block = `${startMarker}\n${section}${endMarker}\n`;
  writeReport(
    file,
    start >= 0 && end > start
      ? doc.slice(0, start) + block + doc.slice(end + endMarker.length + 1)
      : `${doc.trimEnd()}\n\n${block}`,
  );
}
