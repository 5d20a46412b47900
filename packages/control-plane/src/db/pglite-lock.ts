import { LockHeld, takePidLock } from '@telemy/protocol/pid-lock';

/**
 * One process at a time per PGlite folder. PGlite is PostgreSQL inside one process, with no shared
 * memory between processes: a second process that opens the same folder (`telemy admin …` while
 * `telemy control-plane` or the engine's embedded cloud runs) works on its own copy. Its writes are
 * invisible to the running server, and both write the same files, which can corrupt the store. So
 * the folder is locked with `<folder>.lock` (`takePidLock`: pid and start time, stale locks taken over).
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

/** Takes the folder's lock or throws `PgliteFolderInUse`; the returned function releases it. */
export function lockPgliteFolder(dataDir: string): () => void {
  try {
    return takePidLock(`${dataDir}.lock`);
  } catch (err) {
    if (err instanceof LockHeld) throw new PgliteFolderInUse(dataDir, err.owner.pid);
    throw err;
  }
}
