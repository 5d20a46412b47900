import pg from 'pg';
import type { Db, LockResult, Queryable, QueryOptions, QueryResult } from './types.js';

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
    async close(): Promise<void> {
      await Promise.all([pool.end(), prepared.end()]);
    },
  };
}
