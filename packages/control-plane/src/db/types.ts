/** The few database operations the control plane needs, identical on `pg` and PGlite. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Prepare the statement once per connection under this name and reuse its generic plan (on
   * PostgreSQL these run on connections of their own, see `createPgDb`). For the hot path's
   * statement, whose parsing and planning cost more than running it. The text under a name must
   * never change while the process runs. PGlite (in-process) ignores it.
   */
  name?: string;
  /** Rows as arrays of column values in select order, instead of objects keyed by column name. */
  rowMode?: 'array';
}

export interface Queryable {
  query<R = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    opts?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

/** A `Db.listen` subscription. */
export interface Subscription {
  /** Stops delivery (no payload and no `onLost` call after it resolves). Closing twice is harmless. */
  close(): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` only if no other holder (process or replica) has the advisory lock `key`. */
  withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>>;
  /**
   * Calls `onPayload` with the payload of every NOTIFY on `channel` (a plain lowercase identifier)
   * committed after the returned promise resolved; it rejects if the subscription cannot be set up.
   * On PostgreSQL the subscription holds a connection of its own, and if that connection fails or
   * ends, `onLost` is called once and nothing more is delivered. Notifications sent from then on
   * are missed: whatever the caller built from the payloads must be treated as unknown until it has
   * subscribed again. PGlite runs in this process and never calls `onLost`.
   *
   * Timing: on PGlite a notification is delivered before the promise of the writing query (or of the
   * transaction, at its commit) resolves; on PostgreSQL it arrives over the other connection, at
   * some point after the commit, even for this process's own writes.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onLost: (err: Error) => void,
  ): Promise<Subscription>;
  /** Closes the connections, and the open `listen` subscriptions (without calling their `onLost`). */
  close(): Promise<void>;
}

/** PostgreSQL error code for a unique-constraint violation (also raised by PGlite). */
export const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== UNIQUE_VIOLATION) return false;
  if (!constraint) return true;
  if (e.constraint === constraint) return true;
  return typeof e.message === 'string' && e.message.includes(constraint);
}
