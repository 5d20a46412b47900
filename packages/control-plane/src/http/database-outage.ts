import type { Logger } from '@telemy/protocol';
import type { Db, Queryable } from '../db/types.js';

/** Socket-level codes of a server that cannot be reached (node-postgres passes them through). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is going away, not there yet or full: `57P01` admin_shutdown,
 * `57P02` crash_shutdown, `57P03` cannot_connect_now (starting up or shutting down), `53300`
 * too_many_connections. Class `08` (connection exception) is checked by prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** node-postgres reports a lost or timed-out connection by message only. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/i, // "… unexpectedly", "… due to connection timeout"
  /timeout exceeded when trying to connect/i, // the pool's connectionTimeoutMillis
  /Client has encountered a connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
];

function isPostgresState(code: unknown): code is string {
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * The error says the database cannot be reached (refused, lost, shutting down, starting up, full),
 * as opposed to a statement it refused. Looks through `cause` and `AggregateError.errors` (a connect
 * to several addresses fails with one of each).
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (NETWORK_CODES.has(e.code)) return true;
    if (isPostgresState(e.code) && (e.code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(e.code)))
      return true;
  }
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(e.message as string))) {
    return true;
  }
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/**
 * Whether the database answers, learned from the queries themselves: the first query that fails
 * because the database cannot be reached logs `database unavailable` once, the first one that
 * succeeds after it `database available again`. The HTTP layer answers requests that failed that
 * way 503 `unavailable` with `Retry-After` instead of logging each.
 */
export class DatabaseOutage {
  private downSince: number | null = null;
  /** Errors that came out of the database for want of it (the only ones `explains` vouches for). */
  private readonly fromDatabase = new WeakSet<object>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get down(): boolean {
    return this.downSince !== null;
  }

  /** A database call failed with `err`. */
  failed(err: unknown): void {
    if (!isDatabaseUnavailable(err)) return;
    this.fromDatabase.add(err as object);
    if (this.downSince !== null) return;
    this.downSince = this.now();
    const e = err as { code?: unknown; message?: unknown };
    this.log.error({ err: String(e.message ?? err), code: e.code }, 'database unavailable');
  }

  /** A database call succeeded. */
  succeeded(): void {
    if (this.downSince === null) return;
    const seconds = Math.round((this.now() - this.downSince) / 100) / 10;
    this.downSince = null;
    this.log.info({ outage_seconds: seconds }, 'database available again');
  }

  /** `err` (or its cause) is a database call's failure for want of the database. */
  explains(err: unknown): boolean {
    for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
      if (this.fromDatabase.has(e)) return true;
      e = (e as { cause?: unknown }).cause;
    }
    return false;
  }
}

/**
 * `db` with every call reported to `outage`. Only the database's own failures count: an error thrown
 * by the callback of `transaction` or `withAdvisoryLock` (which may call other services) is not
 * judged, though the queries it makes are, through the wrapped connection it is given.
 */
export function watchDatabase(db: Db, outage: DatabaseOutage): Db {
  const track = <T>(p: Promise<T>): Promise<T> =>
    p.then(
      (v) => {
        outage.succeeded();
        return v;
      },
      (err: unknown) => {
        outage.failed(err);
        throw err;
      },
    );
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params, opts) => track(q.query(sql, params, opts)),
    exec: (sql) => track(q.exec(sql)),
  });
  /** Runs `call(inner)`; a failure is judged unless it is what the callback run by `inner` threw. */
  const around = async <T>(call: (inner: <R>(fn: () => Promise<R>) => Promise<R>) => Promise<T>) => {
    const none = Symbol('none');
    let thrown: unknown = none;
    const inner = async <R>(fn: () => Promise<R>): Promise<R> => {
      try {
        return await fn();
      } catch (err) {
        thrown = err;
        throw err;
      }
    };
    try {
      return await call(inner);
    } catch (err) {
      if (err !== thrown) outage.failed(err);
      throw err;
    }
  };
  const root = wrap(db);
  return {
    kind: db.kind,
    query: root.query,
    exec: root.exec,
    transaction: (fn) => around((inner) => db.transaction((tx) => inner(() => fn(wrap(tx))))),
    withAdvisoryLock: (key, fn) => around((inner) => db.withAdvisoryLock(key, () => inner(fn))),
    listen: (channel, onPayload, onLost) => db.listen(channel, onPayload, onLost),
    close: () => db.close(),
  };
}
