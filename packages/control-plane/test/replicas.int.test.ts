import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '../../../test/support/postgres.js';
import { registerAdmin } from '../../cli/src/commands/admin.js';
import { registerControlPlane } from '../../cli/src/commands/control-plane.js';
import { hs256Config, verifyAccessToken } from '../src/auth/jwt.js';
import { maxLeaseBlock } from '../src/cache/rate-limit-leases.js';
import { createPgDb } from '../src/db/pg.js';
import { CLIENT_HEADERS, JWT_SECRET, START_BODY } from './harness.js';
import { type ControlPlaneProcess, spawnControlPlane } from './server-process.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../cli/bin/telemy.js');

function stopServer(s: ControlPlaneProcess | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    s.proc.once('exit', () => resolve());
    s.proc.kill('SIGTERM');
  });
}

const minuteOf = (ms: number) => Math.floor(ms / 60_000);

/**
 * Runs `requests` inside one rate-limit window (the clock minute): starts it away from the end of a
 * minute, and runs it again in the next one if a slow machine still let the minute turn over, since
 * a new window legitimately lets every count through again.
 */
async function withinOneClockMinute<T>(requests: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await sleep(60_000 - intoMinute + 200);
    const startedIn = minuteOf(Date.now());
    const result = await requests();
    if (minuteOf(Date.now()) === startedIn || attempt === 1) return result;
  }
}

describe('two server processes and the CLI on one PostgreSQL', () => {
  let pg: ThrowawayPostgres;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const servers: ControlPlaneProcess[] = [];
  /** The real `telemy` binary: used where the process boundary matters (migrate, servers). */
  const bin = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args], { env })).stdout.trim();
  /** The same commands in-process (the binary takes seconds to start on a busy machine). */
  const cli = async (...args: string[]): Promise<string> => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    const program = new Command('telemy')
      .exitOverride()
      .configureOutput({ writeOut: (str) => (out += str), writeErr: () => {} });
    registerControlPlane(program);
    registerAdmin(program);
    try {
      await program.parseAsync(['node', 'telemy', ...args]);
    } catch (err) {
      if (!(err instanceof CommanderError && err.code === 'commander.helpDisplayed')) throw err;
    } finally {
      spy.mockRestore();
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    return out.trim();
  };

  beforeAll(async () => {
    pg = await startPostgres();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-cp-replicas-'));
    env = {
      ...process.env,
      TELEMY_HOME: home,
      TELEMY_DATABASE_URL: pg.url,
      TELEMY_JWT_SECRET: JWT_SECRET,
      TELEMY_RELAY_PROVIDER: 'fake',
      TELEMY_LOG_LEVEL: 'warn',
      // The default start and stop limits (6 and 20/min per user) would refuse most of the bursts
      // and loops below.
      TELEMY_CP_RATE_LIMITS: 'start=1000,stop=1000',
    };
  });
  afterAll(async () => {
    await Promise.all(servers.map(stopServer));
    await pg?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('migrate applies the numbered migrations once', async () => {
    expect(await bin('control-plane', 'migrate')).toMatch(
      /^applied migrations 1, 2, 3, 4, 5, 6 \(schema version 6\) to PostgreSQL/,
    );
    expect(await cli('control-plane', 'migrate')).toMatch(/^schema is up to date \(version 6\)/);
    // The counters written by every request are unlogged: their commits wait for no WAL flush.
    const db = createPgDb(pg.url);
    try {
      const t = await db.query<{ relpersistence: string }>(
        `SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit_counters'`,
      );
      expect(t.rows).toEqual([{ relpersistence: 'u' }]);
    } finally {
      await db.close();
    }
  });

  it('admin commands create users and keys, and mint tokens without the database', async () => {
    const userId = await cli(
      'admin',
      'user',
      'create',
      '--email',
      'Streamer@Example.test',
      '--plan',
      'standard',
    );
    expect(userId).toMatch(/^usr_[a-z2-7]{20}$/);
    const list = JSON.parse(await cli('admin', 'user', 'list', '--json'));
    expect(list.users).toContainEqual(
      expect.objectContaining({
        user_id: userId,
        email: 'streamer@example.test',
        plan_tier: 'standard',
        included_seconds: 144_000,
      }),
    );
    const key = JSON.parse(await cli('admin', 'key', 'create', '--user', userId, '--json'));
    expect(key.api_key).toMatch(/^tmk_[A-Z2-7]{40}$/);
    await expect(cli('admin', 'key', 'create', '--user', 'usr_nobody')).rejects.toThrow('no user usr_nobody');
    await expect(cli('admin', 'user', 'create', '--email', 'streamer@example.test')).rejects.toThrow(
      'already exists',
    );
    // No database configured at all: the token needs only the JWT secret.
    const dbUrl = env.TELEMY_DATABASE_URL;
    delete env.TELEMY_DATABASE_URL;
    const token = await cli('admin', 'token', '--user', userId, '--ttl', '120').finally(() => {
      env.TELEMY_DATABASE_URL = dbUrl;
    });
    expect(await verifyAccessToken(hs256Config(JWT_SECRET), token, Date.now())).toBe(userId);
    expect(await verifyAccessToken(hs256Config(JWT_SECRET), token, Date.now() + 121_000)).toBeNull();
  });

  it('every command answers --help', async () => {
    for (const args of [
      ['control-plane'],
      ['control-plane', 'migrate'],
      ['admin'],
      ['admin', 'user', 'create'],
      ['admin', 'user', 'list'],
      ['admin', 'key', 'create'],
      ['admin', 'token'],
    ]) {
      expect(await cli(...args, '--help')).toContain(`Usage: telemy ${args.join(' ')}`);
    }
  });

  it('100 concurrent starts split across two API processes → one session, no 5xx, one id', async () => {
    const [a, b] = await Promise.all([
      spawnControlPlane(env, { role: 'api' }),
      spawnControlPlane(env, { role: 'api' }),
    ]);
    servers.push(a!, b!);
    const userId = await cli('admin', 'user', 'create', '--email', 'racer@example.test');
    const apiKey = await cli('admin', 'key', 'create', '--user', userId);
    const tokenRes = await fetch(`${a!.url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: apiKey }),
    });
    expect(tokenRes.status).toBe(200);
    const { cp_access_jwt } = (await tokenRes.json()) as { cp_access_jwt: string };
    const headers = {
      ...CLIENT_HEADERS,
      authorization: `Bearer ${cp_access_jwt}`,
      'content-type': 'application/json',
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${(i % 2 === 0 ? a : b)!.url}/api/v1/relay/start`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': crypto.randomUUID() },
          body: JSON.stringify(START_BODY),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { session_id?: string } })),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(99);
    const ok = results;
    expect(new Set(ok.map((r) => r.body.session_id)).size).toBe(1);
    const active = await fetch(`${b!.url}/api/v1/relay/active`, { headers });
    expect(((await active.json()) as { session_id: string }).session_id).toBe(ok[0]?.body.session_id);
  });

  it('a start with a fresh key racing a stop on the other process never answers with a stopped session', async () => {
    const [a, b] = servers;
    const userId = await cli('admin', 'user', 'create', '--email', 'start-stop@example.test');
    const token = await cli('admin', 'token', '--user', userId);
    const headers = {
      ...CLIENT_HEADERS,
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    };
    interface Answer {
      status: number;
      body: { session_id: string; status: string; usage: { ended_at: string | null } };
    }
    const start = (s: ControlPlaneProcess): Promise<Answer> =>
      fetch(`${s.url}/api/v1/relay/start`, {
        method: 'POST',
        headers: { ...headers, 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify(START_BODY),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Answer['body'] }));
    const stop = (s: ControlPlaneProcess, sessionId: string) =>
      fetch(`${s.url}/api/v1/relay/stop`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ session_id: sessionId, reason: 'user_requested' }),
      }).then((r) => r.status);
    let live: Answer['body'] | null = null;
    const seen = { startFirst: 0, stopFirst: 0 };
    for (let i = 0; i < 60; i++) {
      if (!live) {
        const fresh = await start(a!);
        expect(fresh.status).toBe(201);
        live = fresh.body;
      }
      const [starter, stopper] = i % 2 === 0 ? [a!, b!] : [b!, a!];
      const sid: string = live.session_id;
      const [started, stopped]: [Answer, number] = await Promise.all([
        start(starter),
        sleep(i % 4).then(() => stop(stopper, sid)),
      ]);
      expect(stopped).toBe(200);
      expect([200, 201]).toContain(started.status);
      // The documented promise: the session in a start's answer was live when the start was answered.
      expect(started.body.status).not.toBe('stopped');
      expect(started.body.usage.ended_at).toBeNull();
      if (started.status === 200) {
        // The start came first: it answered with the live session, which the stop then ended.
        expect(started.body.session_id).toBe(sid);
        seen.startFirst += 1;
        live = null;
      } else {
        // The stop came first: the start made a new session.
        expect(started.body.session_id).not.toBe(sid);
        seen.stopFirst += 1;
        live = started.body;
      }
    }
    console.log(`start/stop races across two processes: ${JSON.stringify(seen)}`);
    if (live) expect(await stop(a!, live.session_id)).toBe(200);
  });

  it('the active limit holds across the two processes', async () => {
    const [a, b] = servers;
    const userId = await cli('admin', 'user', 'create', '--email', 'limited@example.test');
    const token = await cli('admin', 'token', '--user', userId);
    const headers = { ...CLIENT_HEADERS, authorization: `Bearer ${token}` };
    const codes = await withinOneClockMinute(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 62; i++) {
        const r = await fetch(`${(i % 2 === 0 ? a : b)!.url}/api/v1/relay/active`, { headers });
        statuses.push(r.status);
      }
      return statuses;
    });
    // 60 per minute per user across both replicas; counts one replica holds unused (at most a
    // block) may be refused on the other before the 60th.
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(1);
    expect(codes.filter((c) => c === 204).length).toBeLessThanOrEqual(60);
    expect(codes.slice(0, 60 - maxLeaseBlock(60)).every((c) => c === 204)).toBe(true);
  });

  it('100 concurrent GET /relay/active of one user split across the two processes → at most 60 pass, each count once, the rest 429', async () => {
    const [a, b] = servers;
    const userId = await cli('admin', 'user', 'create', '--email', 'burst@example.test');
    const token = await cli('admin', 'token', '--user', userId);
    const headers = { ...CLIENT_HEADERS, authorization: `Bearer ${token}` };
    const results = await withinOneClockMinute(() =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fetch(`${(i % 2 === 0 ? a : b)!.url}/api/v1/relay/active`, { headers }).then((r) => ({
            status: r.status,
            remaining: r.headers.get('x-ratelimit-remaining'),
          })),
        ),
      ),
    );
    const passed = results.filter((r) => r.status === 204).length;
    expect(passed).toBeLessThanOrEqual(60);
    expect(passed).toBeGreaterThanOrEqual(60 - maxLeaseBlock(60));
    expect(results.filter((r) => r.status === 429)).toHaveLength(100 - passed);
    const remaining = results.filter((r) => r.status === 204).map((r) => Number(r.remaining));
    expect(new Set(remaining).size).toBe(passed);
    expect(Math.min(...remaining)).toBeGreaterThanOrEqual(0);
    expect(results.filter((r) => r.status === 429).every((r) => r.remaining === '0')).toBe(true);
  });

  it('a --role jobs process serves /metrics with job runs and no API', async () => {
    const jobs = await spawnControlPlane(env, { role: 'jobs' });
    servers.push(jobs);
    const deadline = Date.now() + 20_000;
    let metrics = '';
    while (Date.now() < deadline && !/aegis_job_runs_total\{job="watchdog",status="ok"\} 1/.test(metrics)) {
      metrics = await (await fetch(`${jobs.url}/metrics`)).text();
      await sleep(200);
    }
    expect(metrics).toMatch(/aegis_job_runs_total\{job="watchdog",status="ok"\} 1/);
    expect(metrics).toMatch(/aegis_job_runs_total\{job="usage_rollup",status="ok"\} 1/);
    expect((await fetch(`${jobs.url}/readyz`)).status).toBe(200);
    const api = await fetch(`${jobs.url}/api/v1/relay/active`);
    expect(api.status).toBe(404);
  });
});
