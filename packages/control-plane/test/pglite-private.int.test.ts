import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import { openDatabase, pgliteDataDir } from '../src/db/open.js';
import type { Db } from '../src/db/types.js';
import { createApiKey, createUser } from '../src/store/users.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../cli/bin/telemy.js');

const homes: string[] = [];
function newHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-private-'));
  homes.push(home);
  return home;
}

let umask: number;
beforeEach(() => {
  // The usual umask, which lets group and other read what is created with Node's defaults.
  umask = process.umask(0o022);
});
afterEach(() => {
  process.umask(umask);
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

interface Entry {
  path: string;
  dir: boolean;
  mode: number;
}

function walk(root: string): Entry[] {
  const out: Entry[] = [];
  const visit = (p: string) => {
    const st = fs.lstatSync(p);
    out.push({ path: path.relative(root, p) || '.', dir: st.isDirectory(), mode: st.mode & 0o7777 });
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(root);
  return out;
}

/** Every entry that is not a 0700 folder or a 0600 file, as `path mode` lines (empty: all private). */
function notPrivate(root: string): string[] {
  return walk(root)
    .filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
    .map((e) => `${e.path}${e.dir ? '/' : ''} ${e.mode.toString(8)}`);
}

/** Writes secrets and enough rows for new relation files and WAL segments, then checkpoints. */
async function writeData(db: Db): Promise<void> {
  const user = await createUser(db, { email: `u-${Date.now()}@example.test` }, new Date());
  await createApiKey(db, user.id, new Date());
  await db.exec(`CREATE TABLE filler (x text);
    INSERT INTO filler SELECT repeat(md5(g::text), 30) FROM generate_series(1, 20000) g;
    CHECKPOINT;`);
}

describe('the PGlite store is private to its owner', () => {
  it('a new store: folder 0700, every file 0600, under umask 022', async () => {
    const home = newHome();
    const dir = pgliteDataDir({ TELEMY_HOME: home });
    const db = await openDatabase({ TELEMY_HOME: home });
    try {
      await migrate(db);
      await writeData(db);
      // While open, files PGlite has just created (relations, WAL segments) are private too.
      expect(notPrivate(dir)).toEqual([]);
    } finally {
      await db.close();
    }
    const entries = walk(dir);
    expect(entries.filter((e) => !e.dir).length).toBeGreaterThan(100);
    expect(notPrivate(dir)).toEqual([]);
    // The folder holding it and the lock: nothing for group or other either.
    expect(fs.statSync(path.dirname(dir)).mode & 0o077).toBe(0);
  });

  it('an existing store with world-writable files is made private when opened', async () => {
    const home = newHome();
    const dir = pgliteDataDir({ TELEMY_HOME: home });
    const first = await openDatabase({ TELEMY_HOME: home });
    await migrate(first);
    await writeData(first);
    await first.close();
    // As an older Telemy left it.
    for (const e of walk(dir)) fs.chmodSync(path.join(dir, e.path), e.dir ? 0o777 : 0o666);
    expect(notPrivate(dir).length).toBeGreaterThan(100);

    const db = await openDatabase({ TELEMY_HOME: home });
    try {
      expect(notPrivate(dir)).toEqual([]);
      // And the store still works.
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      expect(rows[0]?.n).toBe(1);
    } finally {
      await db.close();
    }
    expect(notPrivate(dir)).toEqual([]);
  });

  it('a store made by the real `telemy admin` process under umask 022 is private', async () => {
    const home = newHome();
    const env: NodeJS.ProcessEnv = { ...process.env, TELEMY_HOME: home };
    delete env.TELEMY_DATABASE_URL;
    await run(
      '/bin/sh',
      [
        '-c',
        'umask 022 && exec "$0" "$@"',
        process.execPath,
        CLI,
        'admin',
        'user',
        'create',
        '--email',
        'a@b.test',
      ],
      { env },
    );
    const dir = pgliteDataDir({ TELEMY_HOME: home });
    expect(walk(dir).filter((e) => !e.dir).length).toBeGreaterThan(100);
    expect(notPrivate(dir)).toEqual([]);
  });
});
