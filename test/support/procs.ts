import { readdirSync, readFileSync } from 'node:fs';

/** Linux process facts from /proc, for tests and benchmarks that check which process does what. */

/** Fields of `/proc/<pid>/stat` after the command name: [0] = state, [1] = ppid, [19] = start time. */
function statFields(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The process exists and has not exited (a zombie waiting for its parent to reap it has). */
export function running(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Start time in clock ticks after boot: tells a reused pid from the process that had it. */
export function startTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** The running children of a process. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === pid && running(Number(entry))) out.push(Number(entry));
  }
  return out;
}

/** The command line, arguments joined by spaces ('' once the process is gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** The environment as `NAME=value` lines ('' once the process is gone). */
export function environ(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').replaceAll('\0', '\n');
  } catch {
    return '';
  }
}

/** Resident memory in MB (VmRSS), or null once the process is gone. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
