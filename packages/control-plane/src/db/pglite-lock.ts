import fs from 'node:fs';
import { processAlive, processStartTime } from '../processes.js';

/**
 * One process at a time per PGlite folder. PGlite is PostgreSQL inside one process, with no shared
 * memory between processes: a second process that opens the same folder (`telemy admin …` while
 * `telemy control-plane` or the engine's embedded cloud runs) works on its own copy. Its writes are
 * invisible to the running server, and both write the same files, which can corrupt the store. So
 * the folder is locked with `<folder>.lock`, which holds the owner's pid and start time. A lock
 * whose process has gone (crash, kill -9) is taken over; the start time tells a reused pid from the
 * owner.
 */
export class PgliteFolderInUse extends Error {
  constructor(
    readonly dataDir: string,
    /** null: the lock file was being written when it was read. */
    readonly pid: number | null,
  ) {
    super(
      `the embedded store ${dataDir} is in use by ${pid === null ? 'another process' : `process ${pid}`} (a running \`telemy control-plane\` or ` +
        '`telemy start` with the embedded cloud); stop it first, or run the control plane on PostgreSQL ' +
        '(TELEMY_DATABASE_URL), which several processes can share',
    );
    this.name = 'PgliteFolderInUse';
  }
}

interface Owner {
  pid: number;
  /** The owner's `processStartTime` when it took the lock (null off Linux). */
  started: string | null;
}

function running(owner: Owner): boolean {
  return processAlive(owner.pid) && (owner.started === null || processStartTime(owner.pid) === owner.started);
}

function readOwner(file: string): Owner | null {
  try {
    const [pid, started] = fs.readFileSync(file, 'utf8').trim().split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0
      ? { pid: n, started: started && started !== '-' ? started : null }
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

/** Takes the folder's lock or throws `PgliteFolderInUse`; the returned function releases it. */
export function lockPgliteFolder(dataDir: string): () => void {
  const file = `${dataDir}.lock`;
  const me = `${process.pid} ${processStartTime(process.pid) ?? '-'}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
      const owner = readOwner(file);
      if (owner && running(owner)) throw new PgliteFolderInUse(dataDir, owner.pid);
      // Without an owner the file may be one another process is writing right now.
      if (!owner && ageMs(file) < FRESH_MS) throw new PgliteFolderInUse(dataDir, null);
      // Left by a process that is gone: remove it and try again.
      fs.rmSync(file, { force: true });
    }
  }
  // A second open in this process finds the file naming this (running) process, and is refused too.
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8') === me) fs.rmSync(file, { force: true });
    } catch {
      // Already gone: nothing to release.
    }
  };
}
