import pg from 'pg';
import type { Db, LockResult, Queryable, QueryOptions, QueryResult, Subscription } from './types.js';

/** `application_name` of the connections `Db.listen` holds (to tell them apart in pg_stat_activity). */
export const LISTEN_APPLICATION_NAME = 'telemy-listen';

/** `prepared`: where named statements run (see `createPgDb`); without it, on `client` itself. */
function wrap(client: pg.Pool | pg.PoolClient, prepared?: pg.Pool): Queryable {
  return {
    async query<R>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const values = params as unknown[] | undefined;
      const config: pg.QueryConfig = { text: sql, values };
      if (opts?.rowMode) (config as pg.QueryArrayConfig).rowMode = opts.rowMode;
      if (opts?.name) config.name = opts.name;
      const res = await (opts?.name ? (prepared ?? client) : client).query(config);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

/** PostgreSQL through a `pg` connection pool (`TELEMY_DATABASE_URL`). */
export function createPgDb(connectionString: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString, max: opts.max ?? 10 });
  // Named statements (the hot path's, QueryOptions.name) run on a few connections of their own that
  // always use a statement's generic plan. Left to choose, PostgreSQL kept re-planning the hot-path
  // statement on every call, and planning it costs more than running it (figures:
  // docs/bench/control-plane.md, "The statement alone"). Other statements keep the default choice.
  // One batch is in flight per process, so two connections are enough. If a proxy refuses the SET,
  // the statement simply plans as before.
  const prepared = new pg.Pool({
    connectionString,
    max: 2,
    onConnect: async (client) => {
      await client.query('SET plan_cache_mode = force_generic_plan').catch(() => {});
    },
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  prepared.on('error', () => {});
  const root = wrap(pool, prepared);
  const subscriptions = new Set<Subscription>();
  return {
    kind: 'pg',
    query: root.query,
    exec: root.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const value = await fn(wrap(client));
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>> {
      // Session-level advisory locks belong to one connection: hold a dedicated client meanwhile.
      const client = await pool.connect();
      try {
        const res = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
        if (!res.rows[0]?.ok) return { acquired: false };
        try {
          return { acquired: true, value: await fn() };
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]);
        }
      } finally {
        client.release();
      }
    },
    async listen(channel, onPayload, onLost): Promise<Subscription> {
      const sub = await listenOn(connectionString, channel, onPayload, onLost, () =>
        subscriptions.delete(sub),
      );
      subscriptions.add(sub);
      return sub;
    },
    async close(): Promise<void> {
      // A listening client left open would keep the process alive.
      await Promise.all([...subscriptions].map((s) => s.close()));
      await Promise.all([pool.end(), prepared.end()]);
    },
  };
}

/**
 * LISTEN on a client of its own: a pooled one would go back to the pool, and its notifications with
 * it. `onLost` is called at most once, when the connection fails or ends other than by `close()`;
 * `ended` once the subscription ends either way.
 */
async function listenOn(
  connectionString: string,
  channel: string,
  onPayload: (payload: string) => void,
  onLost: (err: Error) => void,
  ended: () => void,
): Promise<Subscription> {
  const client = new pg.Client({
    connectionString,
    application_name: LISTEN_APPLICATION_NAME,
    // The connection is idle but for notifications: keepalives let the OS notice a dead peer.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  /** 'setup' until LISTEN succeeded; 'done' once closed or lost (nothing is reported after it). */
  let state: 'setup' | 'open' | 'done' = 'setup';
  let setupError: Error | null = null;
  const lose = (err: Error) => {
    if (state === 'setup') setupError ??= err;
    if (state !== 'open') return;
    state = 'done';
    client.end().catch(() => {});
    ended();
    onLost(err);
  };
  // Without an 'error' listener a lost connection would throw in the process.
  client.on('error', (err) => lose(err));
  client.on('end', () => lose(new Error(`the connection listening on ${channel} ended`)));
  client.on('notification', (msg) => {
    if (state === 'open' && msg.channel === channel) onPayload(msg.payload ?? '');
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    if (setupError) throw setupError;
  } catch (err) {
    state = 'done';
    await client.end().catch(() => {});
    throw err;
  }
  state = 'open';
  return {
    async close() {
      if (state === 'done') return;
      state = 'done';
      ended();
      await client.end().catch(() => {});
    },
  };
}
