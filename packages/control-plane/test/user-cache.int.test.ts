import { createLogger, type RelaySession, type UsageCurrentResponse } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, LISTEN_APPLICATION_NAME } from '../src/db/pg.js';
import type { Db } from '../src/db/types.js';
import { type ControlPlaneApp, createControlPlane } from '../src/http/app.js';
import { activeSession, BACKENDS, type Backend, type Harness, makeHarness, openBackend } from './harness.js';

/** Polls `check` until it holds (notifications arrive asynchronously); fails after 5 s. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(BACKENDS)('the per-process user cache on %s', (kind) => {
  let backend: Backend;
  let h: Harness;
  /** A second replica on its own connections (PostgreSQL) and its hot-path statement count. */
  let b: ControlPlaneApp;
  let dbB: Db;
  let statementsB = 0;
  let requestsByStatementsB = 0;
  beforeAll(async () => {
    backend = await openBackend(kind);
    h = await makeHarness(backend.db, { limits: { active: 1_000_000, usage: 1_000_000 } });
    dbB = backend.url ? createPgDb(backend.url) : backend.db;
    b = await createControlPlane({
      db: dbB,
      provider: h.provider,
      jwt: h.jwt,
      clock: h.now,
      limits: { active: 1_000_000, usage: 1_000_000 },
      logger: createLogger('t', { level: 'silent' }),
      onAuthStatement: (n) => {
        statementsB++;
        requestsByStatementsB += n;
      },
    });
  });
  afterAll(async () => {
    await b?.close();
    if (dbB && dbB !== backend.db) await dbB.close();
    await h?.close();
    await backend?.close();
  });

  const get = (app: ControlPlaneApp, token: string, url: string) =>
    app.inject({ method: 'GET', url, headers: h.headers(token) });

  it('answers repeated polls from memory: one statement per leased block of counts', async () => {
    const { token } = await h.newUser();
    expect(b.cp.userCache.isEnabled).toBe(true);
    const before = statementsB;
    for (let i = 0; i < 30; i++) expect((await get(b, token, '/api/v1/relay/active')).statusCode).toBe(204);
    // The first poll reads the user and leases its count and a block of 10 more (limit 1 000 000), then
    // one statement per 11 polls: 3 statements. On PostgreSQL the notification of the user's creation
    // may arrive after the first read and drop it once more: at most 4. Without the cache: 30.
    expect(statementsB - before).toBeGreaterThanOrEqual(3);
    expect(statementsB - before).toBeLessThanOrEqual(4);
    const metrics = (await b.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^aegis_user_cache_enabled 1$/m);
    const served = (source: string) =>
      Number(new RegExp(`^aegis_client_auth_total\\{source="${source}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(served('memory')).toBeGreaterThanOrEqual(26);
    expect(served('database')).toBe(requestsByStatementsB);
  });

  it("another replica's start, health and stop reach this replica's polls", async () => {
    const { token } = await h.newUser();
    expect((await get(b, token, '/api/v1/relay/active')).statusCode).toBe(204);
    const sessionId = await activeSession(h, token);
    await eventually(async () => {
      const r = await get(b, token, '/api/v1/relay/active');
      return r.statusCode === 200 && (r.json() as RelaySession).status === 'active';
    }, 'replica B sees the active session');
    expect((await get(b, token, '/api/v1/relay/active')).json()).toMatchObject({ session_id: sessionId });
    expect((await h.stop(token, sessionId)).statusCode).toBe(200);
    await eventually(
      async () => (await get(b, token, '/api/v1/relay/active')).statusCode === 204,
      'replica B sees the stop',
    );
    await h.settle();
  });

  it('a change written straight into the database (an admin, a job elsewhere) reaches the cache', async () => {
    const { user, token } = await h.newUser();
    const plan = async () => (await get(b, token, '/api/v1/usage/current')).json() as UsageCurrentResponse;
    expect((await plan()).plan_status).toBe('active');
    await backend.db.query(`UPDATE users SET plan_status = 'past_due' WHERE id = $1`, [user.id]);
    await eventually(async () => (await plan()).plan_status === 'past_due', 'the plan change is seen');
  });

  it("a replica's own writes are seen by its next read at once", async () => {
    const { token } = await h.newUser();
    for (let i = 0; i < 3; i++)
      expect((await get(h.app, token, '/api/v1/relay/active')).statusCode).toBe(204);
    const started = await h.start(token);
    expect(started.status).toBe(201);
    const afterStart = await get(h.app, token, '/api/v1/relay/active');
    expect(afterStart.statusCode).toBe(200);
    expect((afterStart.json() as RelaySession).status).toBe('provisioning');
    await h.settle();
    expect(await h.health(started.body.session_id)).toBe(204);
    expect(((await get(h.app, token, '/api/v1/relay/active')).json() as RelaySession).status).toBe('active');
    expect(await h.health(started.body.session_id, { ingest_active: false })).toBe(204);
    expect(((await get(h.app, token, '/api/v1/relay/active')).json() as RelaySession).status).toBe('grace');
    expect((await h.stop(token, started.body.session_id)).statusCode).toBe(200);
    expect((await get(h.app, token, '/api/v1/relay/active')).statusCode).toBe(204);
    await h.settle();
  });

  // PGlite runs in the process: its subscription cannot be lost.
  if (kind === 'postgres') {
    it('a lost subscription turns the cache off at once and back on when it is renewed', async () => {
      const { user, token } = await h.newUser();
      const plan = async () =>
        ((await get(b, token, '/api/v1/usage/current')).json() as UsageCurrentResponse).plan_status;
      expect(await plan()).toBe('active');
      // Both replicas listen; end every listening connection.
      const ended = await backend.db.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [LISTEN_APPLICATION_NAME],
      );
      expect(ended.rows[0]?.n).toBe(2);
      await eventually(async () => !b.cp.userCache.isEnabled, 'replica B notices the loss');
      expect(b.cp.userCache.size).toBe(0);
      // The loss emptied the cache and nothing was read since (it is renewed empty): whether or not it
      // is back yet, the change is seen by the very next request.
      await backend.db.query(`UPDATE users SET plan_status = 'past_due' WHERE id = $1`, [user.id]);
      expect(await plan()).toBe('past_due');
      await eventually(async () => b.cp.userCache.isEnabled, 'replica B subscribes again');
      await backend.db.query(`UPDATE users SET plan_status = 'active' WHERE id = $1`, [user.id]);
      await eventually(async () => (await plan()) === 'active', 'changes are followed again');
      const before = statementsB;
      await plan();
      await plan();
      expect(statementsB - before).toBeLessThanOrEqual(1);
    });
  }
});
