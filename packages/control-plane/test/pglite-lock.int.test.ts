import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { processStartTime } from '@telemy/protocol/pid-lock';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, pgliteDataDir } from '../src/db/open.js';
import { PgliteFolderInUse } from '../src/db/pglite-lock.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../cli/bin/telemy.js');

const homes: string[] = [];
function newHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-lock-'));
  homes.push(home);
  return home;
}
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

/** `telemy admin user list` on the PGlite store of `home`, as an operator would run it. */
function adminList(home: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, TELEMY_HOME: home };
  delete env.TELEMY_DATABASE_URL;
  return run(process.execPath, [CLI, 'admin', 'user', 'list', '--json'], { env });
}

describe('one process at a time on a PGlite folder', () => {
  it('an admin command against a store held by another process fails naming it, and works once it is closed', async () => {
    const home = newHome();
    const db = await openDatabase({ TELEMY_HOME: home });
    try {
      const refused = await adminList(home).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(refused?.code).toBe(1);
      expect(refused?.stderr).toContain(`is in use by process ${process.pid}`);
      expect(refused?.stderr).toContain('TELEMY_DATABASE_URL');
    } finally {
      await db.close();
    }
    const { stdout } = await adminList(home);
    expect(JSON.parse(stdout)).toEqual({ users: [] });
  });

  it('a second open in the same process is refused too; closing releases the folder', async () => {
    const home = newHome();
    const first = await openDatabase({ TELEMY_HOME: home });
    await expect(openDatabase({ TELEMY_HOME: home })).rejects.toBeInstanceOf(PgliteFolderInUse);
    await first.close();
    const again = await openDatabase({ TELEMY_HOME: home });
    await again.close();
    expect(fs.existsSync(`${pgliteDataDir({ TELEMY_HOME: home })}.lock`)).toBe(false);
  });

  it('a lock left by a process that is gone is taken over', async () => {
    const home = newHome();
    const dir = pgliteDataDir({ TELEMY_HOME: home });
    // A real process that has exited: its pid is free (or reused, which the start time tells apart).
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}.lock`, `${gone.pid} 1\n`);
    const db = await openDatabase({ TELEMY_HOME: home });
    try {
      expect(fs.readFileSync(`${dir}.lock`, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    } finally {
      await db.close();
    }
  });

  it('a lock naming a live process with another start time (a reused pid) is taken over', async () => {
    const home = newHome();
    const dir = pgliteDataDir({ TELEMY_HOME: home });
    fs.mkdirSync(dir, { recursive: true });
    // pid 1 is alive, but the lock names another start time than its own.
    fs.writeFileSync(`${dir}.lock`, `1 ${Number(processStartTime(1)) + 1}\n`);
    const db = await openDatabase({ TELEMY_HOME: home });
    try {
      expect(fs.readFileSync(`${dir}.lock`, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    } finally {
      await db.close();
    }
  });
});
