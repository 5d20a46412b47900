import fs from 'node:fs';

/**
 * Whether a process with this pid is running (one we may not signal counts: EPERM). A zombie is not:
 * it has exited and holds nothing, it only waits to be reaped, and an orphan (its parent was
 * SIGKILLed) may wait for that a long time where init reaps lazily.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !exited(processState(pid));
}

/** Linux: the state letter of `/proc/<pid>/stat` (R, S, D, Z, X, …); null elsewhere or when gone. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

function exited(state: string | null): boolean {
  return state === 'Z' || state === 'X';
}

/** The fields of `/proc/<pid>/stat` after the command name, which may hold spaces and parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Linux: the process's start time in clock ticks after boot (`/proc/<pid>/stat`, field 22), which
 * tells a reused pid from the process that had it; null elsewhere or when the process is gone.
 */
export function processStartTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** What a lock file says about the process holding it. */
export interface LockOwner {
  /** null: the lock file was being written when it was read. */
  pid: number | null;
  /** What the owner chose to tell the next comer (e.g. where it serves), or null. */
  note: string | null;
}

/** The lock is held by a running process. */
export class LockHeld extends Error {
  constructor(
    readonly file: string,
    readonly owner: LockOwner,
  ) {
    super(`${file} is held by ${owner.pid === null ? 'another process' : `process ${owner.pid}`}`);
    this.name = 'LockHeld';
  }
}

interface Recorded {
  pid: number;
  /** The owner's `processStartTime` when it took the lock (null off Linux). */
  started: string | null;
  note: string | null;
}

function running(owner: Recorded): boolean {
  return processAlive(owner.pid) && (owner.started === null || processStartTime(owner.pid) === owner.started);
}

/** First line `<pid> <start time or ->`, then the owner's note, if any. */
function readOwner(file: string): Recorded | null {
  try {
    const [first = '', ...rest] = fs.readFileSync(file, 'utf8').split('\n');
    const [pid, started] = first.trim().split(' ');
    const n = Number(pid);
    const note = rest.join('\n').trim();
    return Number.isInteger(n) && n > 0
      ? { pid: n, started: started && started !== '-' ? started : null, note: note || null }
      : null;
  } catch {
    return null;
  }
}

/** A lock file with no readable owner younger than this is taken to be still being written. */
const FRESH_MS = 5_000;

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** The running process that holds `file`, or null when none does (no file, or its owner is gone). */
export function lockOwner(file: string): LockOwner | null {
  const owner = readOwner(file);
  return owner && running(owner) ? { pid: owner.pid, note: owner.note } : null;
}

/**
 * One process at a time: creates `file` holding this process's pid and start time (and `note`), or
 * throws `LockHeld` naming the running owner. A lock whose process has gone (crash, kill -9) is
 * taken over; the start time tells a reused pid from the owner. The returned function releases it.
 * A second take in the same process finds the file naming this (running) process and is refused.
 */
export function takePidLock(file: string, note?: string): () => void {
  const me = `${process.pid} ${processStartTime(process.pid) ?? '-'}\n${note ? `${note}\n` : ''}`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
      const owner = readOwner(file);
      if (owner && running(owner)) throw new LockHeld(file, { pid: owner.pid, note: owner.note });
      // Without an owner the file may be one another process is writing right now.
      if (!owner && ageMs(file) < FRESH_MS) throw new LockHeld(file, { pid: null, note: null });
      // Left by a process that is gone: remove it and try again.
      fs.rmSync(file, { force: true });
    }
  }
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8') === me) fs.rmSync(file, { force: true });
    } catch {
      // Already gone: nothing to release.
    }
  };
}
