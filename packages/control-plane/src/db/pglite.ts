import fs from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { lockPgliteFolder } from './pglite-lock.js';
import { PrivateNodeFS, restrictTree } from './pglite-private-fs.js';
import type { Db, LockResult, Queryable, QueryOptions, QueryResult, Subscription } from './types.js';

function wrap(conn: PGlite | Transaction): Queryable {
  return {
    async query<R>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const res = await conn.query<R>(sql, params, opts?.rowMode ? { rowMode: opts.rowMode } : undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await conn.exec(sql);
    },
  };
}

/**
 * PGlite (PostgreSQL compiled to WASM) in a folder, or in memory when `dataDir` is omitted. It is one
 * connection: transactions are serialised by PGlite itself, and advisory locks would be re-entrant
 * within that single session, so an in-process set gives jobs their mutual exclusion. A folder is
 * opened by one process at a time (`pglite-lock.ts`); a second gets `PgliteFolderInUse`. The folder
 * is 0700 and its files 0600, as made and as found (`pglite-private-fs.ts`): they hold secrets.
 */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  let release = () => {};
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    release = lockPgliteFolder(dataDir);
  }
  let pglite: PGlite;
  try {
    if (dataDir) restrictTree(dataDir);
    pglite = await PGlite.create(dataDir ? { fs: new PrivateNodeFS(dataDir) } : {});
  } catch (err) {
    release();
    throw err;
  }
  const root = wrap(pglite);
  const held = new Set<number>();
  const subscriptions = new Set<Subscription>();
  return {
    kind: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pglite.transaction((tx) => fn(wrap(tx)));
    },
    async withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<LockResult<T>> {
      if (held.has(key)) return { acquired: false };
      const res = await pglite.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      if (!res.rows[0]?.ok) return { acquired: false };
      held.add(key);
      try {
        return { acquired: true, value: await fn() };
      } finally {
        held.delete(key);
        await pglite.query('SELECT pg_advisory_unlock($1)', [key]);
      }
    },
    async listen(channel, onPayload): Promise<Subscription> {
      // PGlite 0.5.16 puts the name into `LISTEN name` unquoted (and folds it to lower case).
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`unsupported channel name: ${channel}`);
      let open = true;
      // Tried: the callback runs before the promise of the writing query (or transaction) resolves.
      const unsubscribe = await pglite.listen(channel, (payload) => {
        if (open) onPayload(payload);
      });
      const sub: Subscription = {
        async close() {
          if (!open) return;
          open = false;
          subscriptions.delete(sub);
          await unsubscribe();
        },
      };
      subscriptions.add(sub);
      return sub;
    },
    async close(): Promise<void> {
      try {
        await Promise.all([...subscriptions].map((s) => s.close()));
      } catch {
        // Closing the database ends them anyway.
      }
      try {
        await pglite.close();
      } finally {
        release();
      }
    },
  };
}
