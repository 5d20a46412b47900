import path from 'node:path';
import { telemyPaths } from '@telemy/protocol';
import { createPgDb } from './pg.js';
import { createPgliteDb } from './pglite.js';
import type { Db } from './types.js';

/** Where the embedded store lives when no PostgreSQL URL is configured. */
export function pgliteDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(telemyPaths(env).data, 'control-plane', 'pglite');
}

/** PostgreSQL when `TELEMY_DATABASE_URL` is set, otherwise PGlite in the Telemy data folder. */
export async function openDatabase(env: NodeJS.ProcessEnv = process.env): Promise<Db> {
  const url = env.TELEMY_DATABASE_URL;
  if (url) return createPgDb(url);
  return createPgliteDb(pgliteDataDir(env));
}
