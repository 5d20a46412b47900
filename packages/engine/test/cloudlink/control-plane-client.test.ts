import { describe, expect, it } from 'vitest';
import { ControlPlaneClient, ControlPlaneError } from '../../src/cloudlink/control-plane-client.js';
import { captureLogger, sessionBody } from './support/fixtures.js';

const API_KEY = 'tmk_live_SECRETSECRETSECRET';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type Reply = Response | Error | ((call: Call) => Response | Error);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function errorBody(status: number, code: string, message: string, details?: unknown): Response {
  return json(status, { error: { code, message, request_id: 'req-1', details } });
}

const session = (status = 'provisioning') =>
  sessionBody({ status, region: 'eu-west-1', some_future_field: { ignored: true } });

/** A fetch that answers `/auth/token` with a JWT and every other path from a per-path queue. */
class FakeServer {
  calls: Call[] = [];
  tokenCount = 0;
  replies = new Map<string, Reply[]>();
  tokenTtlMs = 3_600_000;
  now = () => 1_000_000;

  reply(path: string, ...r: Reply[]): this {
    this.replies.set(path, [...(this.replies.get(path) ?? []), ...r]);
    return this;
  }

  fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const u = new URL(url);
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>));
    const call: Call = {
      method: init.method ?? 'GET',
      path: u.pathname,
      headers,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    this.calls.push(call);
    const queue = this.replies.get(u.pathname);
    if (queue && queue.length > 0) {
      const next = queue.shift()!;
      const r = typeof next === 'function' ? next(call) : next;
      if (r instanceof Error) throw r;
      return r;
    }
    if (u.pathname === '/api/v1/auth/token') {
      this.tokenCount++;
      return json(200, {
        cp_access_jwt: `jwt-${this.tokenCount}`,
        expires_at: new Date(this.now() + this.tokenTtlMs).toISOString(),
      });
    }
    throw new Error(`no reply queued for ${u.pathname}`);
  };

  of(path: string): Call[] {
    return this.calls.filter((c) => c.path === path);
  }
}

function networkError(): Error {
  return Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
}

function setup(server = new FakeServer(), extra: { now?: () => number } = {}) {
  const sleeps: number[] = [];
  const { logger, lines: logged } = captureLogger();
  const client = new ControlPlaneClient({
    baseUrl: 'http://cp.test:8080/',
    getSecret: () => API_KEY,
    clientVersion: '9.9.9',
    platform: 'linux',
    fetch: server.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: extra.now ?? server.now,
    random: () => 0.5,
    logger,
    retry: { attempts: 4, baseMs: 100, maxMs: 1_000 },
  });
  return { server, client, sleeps, logged };
}

describe('ControlPlaneClient', () => {
  it('exchanges the API key for a JWT and sends the required headers', async () => {
    const { server, client } = setup();
    server.reply('/api/v1/relay/active', json(200, session('active')));
    const s = await client.active();
    expect(s?.session_id).toBe('ses_1');
    expect(s).not.toHaveProperty('some_future_field');

    const [token, active] = server.calls;
    expect(token?.path).toBe('/api/v1/auth/token');
    expect(token?.method).toBe('POST');
    expect(token?.body).toEqual({ api_key: API_KEY });
    expect(token?.headers.authorization).toBeUndefined();
    expect(active?.headers).toMatchObject({
      authorization: 'Bearer jwt-1',
      'x-aegis-client-version': '9.9.9',
      'x-aegis-client-platform': 'linux',
    });
  });

  it('reuses the JWT until shortly before expiry, then exchanges a new one', async () => {
    let now = 1_000_000;
    const server = new FakeServer();
    server.now = () => now;
    server.tokenTtlMs = 600_000;
    const { client } = setup(server, { now: () => now });
    server.reply(
      '/api/v1/relay/active',
      new Response(null, { status: 204 }),
      new Response(null, { status: 204 }),
    );
    server.reply('/api/v1/relay/active', new Response(null, { status: 204 }));
    await client.active();
    now += 500_000;
    await client.active();
    expect(server.tokenCount).toBe(1);
    now += 50_000; // 50 s left: inside the 60 s refresh lead
    await client.active();
    expect(server.tokenCount).toBe(2);
    expect(server.of('/api/v1/relay/active').map((c) => c.headers.authorization)).toEqual([
      'Bearer jwt-1',
      'Bearer jwt-1',
      'Bearer jwt-2',
    ]);
  });

  it('on 401 exchanges a new JWT and retries exactly once', async () => {
    const { server, client } = setup();
    server.reply(
      '/api/v1/relay/active',
      errorBody(401, 'unauthorized', 'token expired'),
      json(200, session('active')),
    );
    expect((await client.active())?.status).toBe('active');
    expect(server.tokenCount).toBe(2);

    server.reply(
      '/api/v1/usage/current',
      errorBody(401, 'unauthorized', 'nope'),
      errorBody(401, 'unauthorized', 'still nope'),
    );
    const err = await client.usage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect((err as ControlPlaneError).status).toBe(401);
    expect((err as ControlPlaneError).message).toContain('still nope');
    expect(server.of('/api/v1/usage/current')).toHaveLength(2);
  });

  it('start sends a UUID v4 idempotency key and reuses it on every retry of the same start', async () => {
    const { server, client, sleeps } = setup();
    server.reply(
      '/api/v1/relay/start',
      networkError(),
      errorBody(503, 'unavailable', 'database down'),
      errorBody(500, 'internal_error', 'boom'),
      json(201, session()),
    );
    const res = await client.start({
      region_preference: 'auto',
      requested_by: 'dashboard',
      obs_connected: true,
    });
    expect(res.status).toBe(201);
    expect(res.session.status).toBe('provisioning');
    const starts = server.of('/api/v1/relay/start');
    expect(starts).toHaveLength(4);
    const keys = new Set(starts.map((c) => c.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(UUID_V4);
    expect(res.idempotencyKey).toBe([...keys][0]);
    expect(starts[0]?.body).toEqual({
      region_preference: 'auto',
      client_context: { obs_connected: true, mode: 'irl', requested_by: 'dashboard' },
    });
    // Exponential backoff with jitter (random fixed at 0.5 → 75 % of the capped exponential).
    expect(sleeps).toEqual([75, 150, 300]);

    server.reply('/api/v1/relay/start', json(200, session()));
    await client.start({ region_preference: 'auto', requested_by: 'cli' });
    const second = server.of('/api/v1/relay/start')[4]?.headers['idempotency-key'];
    expect(second).toMatch(UUID_V4);
    expect(second).not.toBe([...keys][0]);
  });

  it('never retries a 4xx and surfaces the error envelope', async () => {
    const { server, client, sleeps } = setup();
    server.reply(
      '/api/v1/relay/start',
      errorBody(403, 'forbidden', 'time bank exhausted', { reason: 'time_bank_exhausted' }),
    );
    const err = (await client
      .start({ region_preference: 'auto', requested_by: 'dashboard' })
      .catch((e: unknown) => e)) as ControlPlaneError;
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.kind).toBe('http');
    expect(err.status).toBe(403);
    expect(err.code).toBe('forbidden');
    expect(err.requestId).toBe('req-1');
    expect(err.details).toEqual({ reason: 'time_bank_exhausted' });
    expect(err.message).toContain('forbidden: time bank exhausted');
    expect(err.unreachable).toBe(false);
    expect(server.of('/api/v1/relay/start')).toHaveLength(1);
    expect(sleeps).toEqual([]);

    server.reply('/api/v1/relay/stop', errorBody(429, 'rate_limited', 'slow down'));
    await expect(client.stop('ses_1', 'user_requested')).rejects.toMatchObject({ status: 429 });
    expect(server.of('/api/v1/relay/stop')).toHaveLength(1);
  });

  it('gives up after the retry budget on network errors with an "unreachable" error', async () => {
    const { server, client, sleeps } = setup();
    server.reply('/api/v1/relay/active', networkError(), networkError(), networkError(), networkError());
    const err = (await client.active().catch((e: unknown) => e)) as ControlPlaneError;
    expect(err.kind).toBe('network');
    expect(err.unreachable).toBe(true);
    expect(err.message).toContain('control plane unreachable at http://cp.test:8080');
    expect(err.message).toContain('ECONNREFUSED');
    expect(sleeps).toEqual([75, 150, 300]);
  });

  it('caps the backoff and keeps retrying 5xx until the budget is spent', async () => {
    const { server, client, sleeps } = setup();
    server.reply(
      '/api/v1/usage/current',
      errorBody(502, 'unavailable', 'bad gateway'),
      errorBody(502, 'unavailable', 'bad gateway'),
      errorBody(502, 'unavailable', 'bad gateway'),
      errorBody(502, 'unavailable', 'bad gateway'),
    );
    const err = (await client.usage().catch((e: unknown) => e)) as ControlPlaneError;
    expect(err.status).toBe(502);
    expect(err.unreachable).toBe(true);
    expect(server.of('/api/v1/usage/current')).toHaveLength(4);
    expect(sleeps.every((ms) => ms <= 1_000)).toBe(true);
  });

  it('maps 204 on active() to null and parses stop and usage', async () => {
    const { server, client } = setup();
    server.reply('/api/v1/relay/active', new Response(null, { status: 204 }));
    expect(await client.active()).toBeNull();

    server.reply('/api/v1/relay/stop', (c) =>
      json(200, {
        session_id: (c.body as { session_id: string }).session_id,
        status: 'stopped',
        stopped_at: '2026-11-22T03:10:00.000Z',
      }),
    );
    expect(await client.stop('ses_9', 'user_requested')).toEqual({
      session_id: 'ses_9',
      status: 'stopped',
      stopped_at: '2026-11-22T03:10:00.000Z',
    });
    expect(server.of('/api/v1/relay/stop')[0]?.body).toEqual({
      session_id: 'ses_9',
      reason: 'user_requested',
    });

    const usage = {
      plan_tier: 'standard',
      plan_status: 'active',
      cycle_start: '2026-11-01T00:00:00Z',
      cycle_end: '2026-12-01T00:00:00Z',
      included_seconds: 36000,
      consumed_seconds: 120,
      remaining_seconds: 35880,
      overage_seconds: 0,
    };
    server.reply('/api/v1/usage/current', json(200, usage));
    expect(await client.usage()).toEqual(usage);
  });

  it('rejects a malformed success body with a protocol error naming the field', async () => {
    const { server, client } = setup();
    server.reply('/api/v1/relay/active', json(200, { session_id: 'ses_1', status: 'exploding' }));
    await expect(client.active()).rejects.toMatchObject({ kind: 'protocol', message: /status/ });
  });

  it('never puts the API key or the JWT into errors or logs', async () => {
    const { server, client, logged } = setup();
    server.reply(
      '/api/v1/relay/active',
      networkError(),
      errorBody(500, 'internal_error', 'x'),
      errorBody(401, 'unauthorized', 'expired'),
      errorBody(401, 'unauthorized', 'expired'),
    );
    const err = (await client.active().catch((e: unknown) => e)) as Error;
    const text = `${err.message} ${JSON.stringify(err)} ${err.stack} ${logged.join('')}`;
    expect(logged.length).toBeGreaterThan(0);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toMatch(/jwt-\d/);
  });

  it('fails clearly without retrying when the vault has no API key', async () => {
    const server = new FakeServer();
    const client = new ControlPlaneClient({
      baseUrl: 'http://cp.test:8080',
      getSecret: async () => null,
      fetch: server.fetch,
    });
    await expect(client.active()).rejects.toMatchObject({ kind: 'config', code: 'missing_api_key' });
    expect(server.calls).toHaveLength(0);
  });
});
