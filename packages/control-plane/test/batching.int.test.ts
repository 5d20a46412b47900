import { createLogger, type RelaySession, type UsageCurrentResponse } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { signAccessToken } from '../src/auth/jwt.js';
import { maxLeaseBlock } from '../src/cache/rate-limit-leases.js';
import { createPgDb } from '../src/db/pg.js';
import type { Db, QueryOptions } from '../src/db/types.js';
import { type ControlPlaneApp, createControlPlane } from '../src/http/app.js';
import { getSession } from '../src/store/sessions.js';
import { consumedSecondsAt, usageSummary } from '../src/store/usage.js';
import { counterKey, readUserStates } from '../src/store/user-states.js';
import { getUser } from '../src/store/users.js';
import { activeSession, BACKENDS, type Backend, type Harness, makeHarness, openBackend } from './harness.js';

/** Counts the batched authentication statements a replica sends. */
function countingAuthStatements(db: Db): { db: Db; count: () => number } {
  let n = 0;
  return {
    db: {
      ...db,
      query: (sql, params, opts) => {
        if (sql.includes('INSERT INTO rate_limit_counters')) n++;
        return db.query(sql, params, opts);
      },
    },
    count: () => n,
  };
}

describe.each(BACKENDS)('batched hot path on %s', (kind) => {
  let backend: Backend;
  let h: Harness;
  beforeAll(async () => {
    backend = await openBackend(kind);
    // Frozen clock: every request below falls in one rate-limit window.
    h = await makeHarness(backend.db, { limits: { active: 1_000_000, usage: 1_000_000 } });
  });
  afterAll(async () => {
    await h?.close();
    await backend?.close();
  });

  it('100 concurrent GET /relay/active on two replicas with limit 60 → at most 60 pass, no count handed out twice, the rest get 429', async () => {
    // On PostgreSQL each replica has its own pool (as separate servers would); PGlite has one connection.
    const dbB = backend.url ? createPgDb(backend.url) : backend.db;
    const a = countingAuthStatements(backend.db);
    const b = countingAuthStatements(dbB);
    const replica = (db: Db) =>
      createControlPlane({
        db,
        provider: h.provider,
        jwt: h.jwt,
        clock: h.now,
        limits: { active: 60 },
        logger: createLogger('t', { level: 'silent' }),
      });
    const replicas: ControlPlaneApp[] = [await replica(a.db), await replica(b.db)];
    try {
      const { token } = await h.newUser();
      const ghost = (await signAccessToken(h.jwt, 'usr_deleted0000000000000', h.now(), 600)).token;
      const results = await Promise.all(
        Array.from({ length: 110 }, (_, i) =>
          replicas[i % 2]!.inject({
            method: 'GET',
            url: '/api/v1/relay/active',
            // Every 11th request is from a user that does not exist: 401, and it counts nothing.
            headers: h.headers(i % 11 === 10 ? ghost : token),
          }),
        ),
      );
      const statuses = results.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      const passed = statuses.filter((s) => s === 204).length;
      // Each replica takes a block of counts ahead; counts one replica holds unused when the window
      // runs out are refused on the other, so up to one block less than the limit may pass, never more.
      expect(passed).toBeLessThanOrEqual(60);
      expect(passed).toBeGreaterThanOrEqual(60 - maxLeaseBlock(60));
      expect(statuses.filter((s) => s === 429)).toHaveLength(100 - passed);
      const remaining = results
        .filter((r) => r.statusCode === 204)
        .map((r) => Number(r.headers['x-ratelimit-remaining']));
      expect(new Set(remaining).size).toBe(passed);
      expect(Math.min(...remaining)).toBeGreaterThanOrEqual(0);
      for (const r of results.filter((x) => x.statusCode === 429)) {
        expect(r.headers['x-ratelimit-remaining']).toBe('0');
        expect(r.headers['retry-after']).toBe(r.headers['x-ratelimit-reset']);
      }
      const counters = await backend.db.query<{ bucket: string; count: number }>(
        `SELECT bucket, count FROM rate_limit_counters WHERE bucket LIKE 'active:%'`,
      );
      expect(counters.rows).toEqual([
        { bucket: expect.stringMatching(/^active:usr_/), count: expect.any(Number) },
      ]);
      expect(counters.rows[0]!.count).toBeGreaterThanOrEqual(60);
      // Over a network round trip, requests that arrive during a flush share the next statement
      // (PGlite answers in-process faster than the requests arrive, so there each may flush alone).
      if (kind === 'postgres') {
        expect(a.count() + b.count()).toBeLessThan(60);
        // Named (prepared) statements run on connections that reuse the generic plan (no planning
        // per call); every other statement keeps PostgreSQL's default choice.
        const show = 'SHOW plan_cache_mode';
        const named = await dbB.query<{ plan_cache_mode: string }>(show, [], { name: 'test_plan_mode' });
        expect(named.rows[0]?.plan_cache_mode).toBe('force_generic_plan');
        const plain = await dbB.query<{ plan_cache_mode: string }>(show);
        expect(plain.rows[0]?.plan_cache_mode).toBe('auto');
      }
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      if (dbB !== backend.db) await dbB.close();
    }
  });

  it('70 concurrent GET /relay/active on one replica with limit 60 → exactly 60 pass with remaining 59..0', async () => {
    const app = await createControlPlane({
      db: backend.db,
      provider: h.provider,
      jwt: h.jwt,
      clock: h.now,
      limits: { active: 60 },
      logger: createLogger('t', { level: 'silent' }),
    });
    try {
      const { token } = await h.newUser();
      const results = await Promise.all(
        Array.from({ length: 70 }, () =>
          app.inject({ method: 'GET', url: '/api/v1/relay/active', headers: h.headers(token) }),
        ),
      );
      const remaining = results
        .filter((r) => r.statusCode === 204)
        .map((r) => Number(r.headers['x-ratelimit-remaining']))
        .sort((x, y) => x - y);
      expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => i));
      expect(results.filter((r) => r.statusCode === 429)).toHaveLength(10);
    } finally {
      await app.close();
    }
  });

  it('a read batch serves several users, each with their own session and Time Bank', async () => {
    const withSession = await h.newUser();
    const without = await h.newUser();
    const sessionId = await activeSession(h, withSession.token);
    h.advance(90);
    const get = (token: string, url: string) =>
      h.app.inject({ method: 'GET', url, headers: h.headers(token) });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const who = i % 2 === 0 ? withSession : without;
        const url = i % 4 < 2 ? '/api/v1/relay/active' : '/api/v1/usage/current';
        return get(who.token, url).then((r) => ({
          who,
          url,
          status: r.statusCode,
          body: r.statusCode === 200 ? r.json() : null,
        }));
      }),
    );
    for (const a of answers) {
      if (a.url.endsWith('/relay/active')) {
        if (a.who === withSession) {
          expect(a.status).toBe(200);
          expect((a.body as RelaySession).session_id).toBe(sessionId);
          expect((a.body as RelaySession).usage.duration_seconds).toBe(90);
        } else {
          expect(a.status).toBe(204);
        }
      } else {
        expect(a.status).toBe(200);
        expect((a.body as UsageCurrentResponse).consumed_seconds).toBe(a.who === withSession ? 90 : 0);
      }
    }
    await h.stop(withSession.token, sessionId);
  });

  it('the hot path reads the user and the live session exactly as the row reads do', async () => {
    const { user, token } = await h.newUser();
    const sessionId = await activeSession(h, token);
    // Sub-millisecond parts (as PostgreSQL's own now() writes them) and a whole millisecond: both
    // must come out as the same Date as the timestamp text that pg parses for the row reads.
    await h.db.query(
      `UPDATE sessions SET started_at = started_at - interval '0.000999 seconds',
         activated_at = activated_at + interval '0.123456 seconds' WHERE id = $1`,
      [sessionId],
    );
    // 2038-06-01T00:00:00.002Z: float seconds times 1000 gives …001.9998 for it (such milliseconds
    // cluster around 2004 and 2038), which a Date would truncate to the millisecond before.
    await h.db.query(
      `UPDATE users SET created_at = created_at + interval '0.000001 seconds',
         cycle_end_at = '2038-06-01T00:00:00.002Z' WHERE id = $1`,
      [user.id],
    );
    const windowStartMs = h.now() - (h.now() % 60_000);
    const read = await readUserStates(
      h.db,
      [user.id],
      [
        { userId: user.id, bucket: `test-live:${user.id}`, windowStartMs, amount: 1 },
        { userId: user.id, bucket: `test-usage:${user.id}`, windowStartMs, amount: 7 },
        { userId: 'usr_deleted0000000000000', bucket: 'test-ghost', windowStartMs, amount: 1 },
      ],
    );
    const session = await getSession(h.db, sessionId);
    expect(session?.last_health?.links?.length).toBeGreaterThan(0);
    const state = read.states.get(user.id);
    expect(state?.user).toEqual(await getUser(h.db, user.id));
    expect(state?.live).toEqual(session);
    h.advance(42);
    const refreshed = (await getUser(h.db, user.id))!;
    expect(consumedSecondsAt(state!.consumed, h.now())).toBe(
      (await usageSummary(h.db, refreshed, new Date(h.now()))).consumedSeconds,
    );
    // Activated 0.123456 s late (above): 41 whole seconds by now.
    expect(consumedSecondsAt(state!.consumed, h.now())).toBe(41);
    expect(read.states.size).toBe(1);
    expect(read.totals).toEqual(
      new Map([
        [counterKey(`test-live:${user.id}`, windowStartMs), 1],
        [counterKey(`test-usage:${user.id}`, windowStartMs), 7],
      ]),
    );
    await h.stop(token, sessionId);
  });

  it('read-your-writes: a GET after a completed stop never sees the session, under concurrent polling', async () => {
    // Authentication statements (which carry the polled routes' reads) answer 40 ms late, so a read
    // that started before the stop committed is still in flight when the GET after the stop arrives:
    // that GET must not share its (stale) answer.
    const slow: Db = {
      ...backend.db,
      query: async <R>(sql: string, params?: unknown[], opts?: QueryOptions) => {
        const res = await backend.db.query<R>(sql, params, opts);
        if (sql.includes('INSERT INTO rate_limit_counters')) await new Promise((r) => setTimeout(r, 40));
        return res;
      },
    };
    const slowH = await makeHarness(slow, { limits: { active: 1_000_000, usage: 1_000_000 } });
    onTestFinished(() => slowH.close());
    const { token } = await slowH.newUser();
    for (let round = 0; round < 5; round++) {
      const sessionId = await activeSession(slowH, token);
      slowH.advance(30);
      let polling = true;
      const pollers = Array.from({ length: 8 }, async (_, i) => {
        let seen = 0;
        while (polling) {
          const url = i % 2 === 0 ? '/api/v1/relay/active' : '/api/v1/usage/current';
          const r = await slowH.app.inject({ method: 'GET', url, headers: slowH.headers(token) });
          expect([200, 204]).toContain(r.statusCode);
          seen++;
          // PGlite and inject() never touch a socket: give timers and the stop request their turn.
          await new Promise((r) => setImmediate(r));
        }
        return seen;
      });
      // Let the polling fill the batchers before stopping.
      await new Promise((r) => setTimeout(r, 50));
      const stop = await slowH.stop(token, sessionId);
      expect(stop.statusCode).toBe(200);
      const [active, usage] = await Promise.all([
        slowH.app.inject({ method: 'GET', url: '/api/v1/relay/active', headers: slowH.headers(token) }),
        slowH.app.inject({ method: 'GET', url: '/api/v1/usage/current', headers: slowH.headers(token) }),
      ]);
      polling = false;
      expect((await Promise.all(pollers)).every((n) => n > 0)).toBe(true);
      expect(active.statusCode).toBe(204);
      // Every round's session lasted 30 s and is final at its stop.
      expect((usage.json() as UsageCurrentResponse).consumed_seconds).toBe(30 * (round + 1));
      await slowH.settle();
    }
  });
});
