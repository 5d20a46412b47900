import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
/** Fixed port range for throwaway servers (other suites use other ranges). */
const PORT_MIN = 55_400;
const PORT_MAX = 55_499;

export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/telemy_test` */
  url: string;
  port: number;
  /** Shuts the server down (fast mode: sessions are terminated) and keeps its data and port. */
  halt(): Promise<void>;
  /** Starts a halted server again, on the same port with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function pickPort(): Promise<number> {
  const start = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
  for (let i = 0; i <= PORT_MAX - PORT_MIN; i++) {
    const port = PORT_MIN + ((start - PORT_MIN + i) % (PORT_MAX - PORT_MIN + 1));
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port in ${PORT_MIN}-${PORT_MAX} for a test PostgreSQL`);
}

const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', cmd, ...args]);

/**
 * A PostgreSQL 15 server of its own: `initdb` into a temporary folder as the `postgres` user, started
 * on a free port of the test range (Unix socket in the same folder), with an empty `telemy_test`
 * database. `stop()` shuts it down and removes the folder.
 */
export async function startPostgres(): Promise<ThrowawayPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-pg-'));
  fs.chmodSync(dir, 0o755);
  await run('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  await asPostgres(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const start = (port: number) =>
    asPostgres(`${BIN}/pg_ctl`, [
      '-D',
      data,
      '-w',
      '-t',
      '30',
      '-l',
      path.join(dir, 'server.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      'start',
    ]);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await pickPort();
    try {
      await start(port);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  await asPostgres(`${BIN}/createdb`, ['-h', dir, '-p', String(port), '-U', 'postgres', 'telemy_test']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/telemy_test`,
    port,
    async halt() {
      await asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async resume() {
      await start(port);
    },
    async stop() {
      await asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
