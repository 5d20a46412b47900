import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiErrorBody, createLogger } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '../../../test/support/postgres.js';
import { migrate } from '../src/db/migrate.js';
import { openDatabase } from '../src/db/open.js';
import type { Db } from '../src/db/types.js';
import { type Harness, makeHarness } from './harness.js';

/**
 * PostgreSQL goes away for 10 s while clients keep polling: every request that needs it gets 503
 * `unavailable` with `Retry-After` (never a 500), the log says so once, and the control plane serves
 * again as soon as the server is back, without a restart.
 */
describe('a PostgreSQL outage under traffic', () => {
  let pg: ThrowawayPostgres;
  let db: Db;
  let h: Harness;
  let home: string;
  const lines: Array<{ level: number; msg: string; reqId?: string }> = [];

  beforeAll(async () => {
    pg = await startPostgres();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-cp-outage-'));
    db = await openDatabase({ TELEMY_HOME: home, TELEMY_DATABASE_URL: pg.url });
    await migrate(db);
    const logger = createLogger('cp-outage', {
      level: 'info',
      destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
    });
    h = await makeHarness(db, { logger });
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
    await pg?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('503 unavailable with Retry-After during the outage, one log line for it, served again after', async () => {
    const { token, apiKey } = await h.newUser();
    const requests = [
      () => h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) }),
      () => h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) }),
      () => h.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { api_key: apiKey } }),
      () => h.app.inject({ url: '/api/v1/relay/manifest', headers: h.headers(token) }),
      () => h.app.inject('/readyz'),
    ];
    for (const r of requests) expect((await r()).statusCode).toBeLessThan(300);

    const statuses: number[] = [];
    const unavailable: Array<{ retryAfter: unknown; details: Record<string, unknown> }> = [];
    let polling = true;
    const traffic = (async () => {
      for (let i = 0; polling; i++) {
        const res = await requests[i % requests.length]!();
        statuses.push(res.statusCode);
        if (res.statusCode === 503) {
          const body = ApiErrorBody.parse(res.json());
          expect(body.error.code).toBe('unavailable');
          expect(body.error.request_id).toBe(res.headers['x-request-id']);
          unavailable.push({ retryAfter: res.headers['retry-after'], details: body.error.details });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await pg.halt();
    const outageStarted = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const duringOutage = statuses.length;
    await pg.resume();

    // Recovers without a restart: the first request after the server is back may still race its
    // startup, so poll briefly.
    const deadline = Date.now() + 20_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      recovered =
        (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) })).statusCode === 204;
      if (!recovered) await new Promise((r) => setTimeout(r, 200));
    }
    polling = false;
    await traffic;
    expect(recovered).toBe(true);
    for (const r of requests) expect((await r()).statusCode).toBeLessThan(300);

    expect(Date.now() - outageStarted).toBeGreaterThanOrEqual(10_000);
    expect(duringOutage).toBeGreaterThan(20);
    // Nothing but success and 503 (no 500 internal_error).
    expect(statuses.filter((s) => s >= 300 && s !== 503)).toEqual([]);
    expect(unavailable.length).toBeGreaterThan(20);
    for (const u of unavailable) {
      expect(u.retryAfter).toBe('5');
      expect(u.details).toEqual({ retry_after_seconds: 5 });
    }

    const down = lines.filter((l) => l.msg === 'database unavailable');
    const up = lines.filter((l) => l.msg === 'database available again');
    expect(down).toHaveLength(1);
    expect(up).toHaveLength(1);
    expect(lines.indexOf(down[0]!)).toBeLessThan(lines.indexOf(up[0]!));
    // No line per request.
    expect(lines.filter((l) => l.reqId !== undefined || l.msg === 'unhandled error')).toEqual([]);
  });
});
