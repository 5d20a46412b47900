/**
 * CPU, run-queue and memory figures of processes and of the machine, from Linux's /proc, for the
 * benches that measure what a process costs.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cmdline, rssMb } from '../../../test/support/procs.js';

/** Clock ticks per second, the unit of the CPU times in `/proc/<pid>/stat`. */
export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** Fields of `/proc/<pid>/stat` after the command name ([1] = ppid, [11] = utime, [12] = stime). */
function statFields(pid: number): string[] {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
}

const cpuTicks = (fields: string[]) => Number(fields[11]) + Number(fields[12]);

/** The running children of a process, from the kernel's own list (cheap enough to read every 100 ms). */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  return (cpuTicks(statFields(pid)) * 1000) / CLOCK_TICKS;
}

/** Time a process's main thread spent runnable, waiting for a CPU, in ms (`/proc/<pid>/schedstat`). */
function runqWaitMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ');
  return Number(f[1]) / 1e6;
}

/** The machine's busy and total CPU ticks over all cores (`/proc/stat`). */
function machineTicks(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  // Fields 4 and 5 are idle and iowait.
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total };
}

/** Total µs during which some task waited for a CPU (`/proc/pressure/cpu`); NaN without PSI. */
function cpuPressureUs(): number {
  try {
    const m = /^some .*total=(\d+)$/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface CpuSpan {
  startedAt: number;
  endedAt: number;
  /** CPU the process used, in % of one core. */
  cpuPct: number;
  /** How busy the whole machine was (all cores), in %. */
  machineBusyPct: number;
  /** Share of the span during which some task waited for a CPU (Linux PSI), in %. */
  cpuPressurePct: number;
  /** Time the process's main thread was runnable but waiting for a CPU, in ms. */
  runqMs: number;
}

/** Starts counting what a process and the machine spend; the function returned ends the span. */
export function cpuSpan(pid: number): () => CpuSpan {
  const read = () => ({
    at: performance.now(),
    cpu: cpuMs(pid),
    machine: machineTicks(),
    pressure: cpuPressureUs(),
    runq: runqWaitMs(pid),
  });
  const a = read();
  return () => {
    const b = read();
    const ms = b.at - a.at;
    return {
      startedAt: a.at,
      endedAt: b.at,
      cpuPct: ((b.cpu - a.cpu) / ms) * 100,
      machineBusyPct: ((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100,
      cpuPressurePct: ((b.pressure - a.pressure) / 1000 / ms) * 100,
      runqMs: b.runq - a.runq,
    };
  };
}

/**
 * Sum of RSS (MB) and user+system CPU ticks over a process and its descendants — only those whose
 * command line matches `match` when given — and the RSS of the whole tree.
 */
export function treeUsage(
  root: number,
  match: RegExp | null,
): { rssMb: number; ticks: number; matched: number; treeRssMb: number } {
  const parent = new Map<number, number>();
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      parent.set(Number(entry), Number(fields[1]));
      stats.set(Number(entry), fields);
    } catch {
      // Process exited while scanning.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parent.get(p), hops++) {
      if (p === root) return true;
    }
    return false;
  };
  const usage = { rssMb: 0, ticks: 0, matched: 0, treeRssMb: 0 };
  for (const [pid, fields] of stats) {
    if (!inTree(pid)) continue;
    const mb = rssMb(pid) ?? 0;
    usage.treeRssMb += mb;
    if (match && !match.test(cmdline(pid))) continue;
    usage.matched++;
    usage.rssMb += mb;
    usage.ticks += cpuTicks(fields);
  }
  return usage;
}
