import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ApiErrorBody,
  newApiKey,
  productVersion,
  RelaySession,
  UsageCurrentResponse,
} from '@telemy/protocol';
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/jwt.js';
import { seedManifest } from '../src/server.js';
import { getUserByEmail, registerApiKey } from '../src/store/users.js';
import {
  activeSession,
  BACKENDS,
  harnessPerSuite,
  healthReportBody,
  JWT_SECRET,
  START_BODY,
} from './harness.js';

const run = promisify(execFile);

function expectEnvelope(
  res: { statusCode: number; json(): unknown; headers: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  const body = ApiErrorBody.parse(res.json());
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(res.headers['x-request-id']);
  return body.error;
}

describe.each(BACKENDS)('control plane API on %s', (kind) => {
  const h = harnessPerSuite(kind);

  it('serves /healthz, /readyz, /metrics and the OpenAPI document', async () => {
    expect((await h.app.inject('/healthz')).json()).toEqual({ status: 'ok', version: productVersion() });
    expect((await h.app.inject('/readyz')).statusCode).toBe(200);
    const metrics = await h.app.inject('/metrics');
    expect(metrics.body).toContain('aegis_http_requests_total{route="/healthz",method="GET",status="200"} 1');
    expect(metrics.body).toContain('aegis_sessions{status="provisioning"}');
    const doc = (await h.app.inject('/api/v1/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/relay/start',
        '/api/v1/relay/health',
        '/api/v1/usage/current',
        '/api/v1/auth/token',
      ]),
    );
    const startSchema = doc.paths['/api/v1/relay/start'].post.requestBody.content['application/json'].schema;
    expect(startSchema.required).toEqual(['region_preference', 'client_context']);
  });

  it('promtool accepts the metrics exposition', async () => {
    const file = path.join(os.tmpdir(), `cp-metrics-${process.pid}.txt`);
    fs.writeFileSync(file, (await h.app.inject('/metrics')).body);
    const { stdout, stderr } = await run('bash', ['-c', `promtool check metrics < ${file}; echo rc=$?`]);
    fs.rmSync(file);
    expect(`${stdout}${stderr}`).toContain('rc=0');
  });

  it('echoes a valid X-Request-ID and generates one otherwise', async () => {
    const id = crypto.randomUUID();
    expect(
      (await h.app.inject({ url: '/healthz', headers: { 'x-request-id': id } })).headers['x-request-id'],
    ).toBe(id);
    const gen = (await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'not a uuid' } })).headers[
      'x-request-id'
    ];
    expect(gen).toMatch(/^[0-9a-f-]{36}$/);
    const res = await h.app.inject({ url: '/nope', headers: { 'x-request-id': id } });
    expect(expectEnvelope(res, 404, 'not_found').request_id).toBe(id);
  });

  describe('POST /auth/token', () => {
    it('exchanges an API key for a JWT that works on client endpoints, and records its use', async () => {
      const { user, apiKey } = await h.newUser();
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { api_key: apiKey },
      });
      expect(res.statusCode).toBe(200);
      const { cp_access_jwt, expires_at } = res.json();
      expect(Date.parse(expires_at)).toBe(h.now() + 3600_000);
      const usage = await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(cp_access_jwt) });
      expect(usage.statusCode).toBe(200);
      const used = await h.db.query<{ last_used_at: Date | null }>(
        'SELECT last_used_at FROM api_keys WHERE user_id = $1',
        [user.id],
      );
      expect(used.rows[0]?.last_used_at?.getTime()).toBe(h.now());
      const stored = await h.db.query<{ key_hash: string }>(
        'SELECT key_hash FROM api_keys WHERE user_id = $1',
        [user.id],
      );
      expect(stored.rows[0]?.key_hash).not.toContain(apiKey.slice(4));
    });

    it('refuses unknown and revoked keys with 401', async () => {
      const { user, apiKey } = await h.newUser();
      const unknown = await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { api_key: 'tmk_NOPE' },
      });
      expectEnvelope(unknown, 401, 'unauthorized');
      await h.db.query('UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1', [
        user.id,
        new Date(h.now()),
      ]);
      const revoked = await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { api_key: apiKey },
      });
      expectEnvelope(revoked, 401, 'unauthorized');
      const bad = await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { key: apiKey } });
      expect(expectEnvelope(bad, 400, 'invalid_request').details.field).toBe('api_key');
    });

    it("a key made by its holder (the embedded engine's) works once registered; registering again is a no-op", async () => {
      const { user } = await h.newUser();
      expect((await getUserByEmail(h.db, ` ${user.email.toUpperCase()} `))?.id).toBe(user.id);
      const apiKey = newApiKey();
      const now = new Date(h.now());
      const keyId = await registerApiKey(h.db, user.id, apiKey, now, 'embedded');
      expect(await registerApiKey(h.db, user.id, apiKey, now, 'embedded')).toBe(keyId);
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { api_key: apiKey },
      });
      expect(res.statusCode).toBe(200);
      // The harness gave the user a key of its own: two rows, neither holding the key itself.
      const stored = await h.db.query<{ key_hash: string }>(
        'SELECT key_hash FROM api_keys WHERE user_id = $1',
        [user.id],
      );
      expect(stored.rows).toHaveLength(2);
      for (const r of stored.rows) expect(r.key_hash).not.toContain(apiKey.slice(4));

      // Another user's key is not taken over, and a revoked key is not brought back.
      const { user: other } = await h.newUser();
      await expect(registerApiKey(h.db, other.id, apiKey, now)).rejects.toThrow(
        /another user or was revoked/,
      );
      await h.db.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1', [keyId, now]);
      await expect(registerApiKey(h.db, user.id, apiKey, now)).rejects.toThrow(/another user or was revoked/);
      const revoked = await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { api_key: apiKey },
      });
      expectEnvelope(revoked, 401, 'unauthorized');
    });
  });

  describe('authentication of client endpoints', () => {
    const enc = new TextEncoder();
    const attack = async (token: string) =>
      h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) });

    it('refuses alg none, HS512, expired, not-yet-valid, wrong aud/iss and missing sub with 401', async () => {
      const { user } = await h.newUser();
      const nowS = Math.floor(h.now() / 1000);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = {
        sub: user.id,
        iss: 'telemy-control-plane',
        aud: 'telemy-api',
        iat: nowS,
        exp: nowS + 600,
      };
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      const sign = (alg: string, over: Record<string, unknown> = {}, drop?: string) => {
        const c: Record<string, unknown> = { ...claims, ...over };
        if (drop) delete c[drop];
        return new SignJWT(c).setProtectedHeader({ alg }).sign(enc.encode(JWT_SECRET));
      };
      const tokens = {
        none,
        hs512: await sign('HS512'),
        expired: await sign('HS256', { exp: nowS - 10, iat: nowS - 700 }),
        notYetValid: await sign('HS256', { nbf: nowS + 300 }),
        wrongAud: await sign('HS256', { aud: 'someone-else' }),
        wrongIss: await sign('HS256', { iss: 'evil' }),
        noSub: await sign('HS256', {}, 'sub'),
        noExp: await sign('HS256', {}, 'exp'),
        otherSecret: await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256' })
          .sign(enc.encode('x'.repeat(40))),
        unknownUser: await sign('HS256', { sub: 'usr_doesnotexist' }),
      };
      for (const [name, token] of Object.entries(tokens)) {
        const res = await attack(token);
        expect({ name, status: res.statusCode }).toEqual({ name, status: 401 });
        expectEnvelope(res, 401, 'unauthorized');
      }
      expect((await attack(await sign('HS256'))).statusCode).toBe(204);
    });

    it('refuses pair tokens, relay_ws tokens, relay credentials and API keys as bearer', async () => {
      const { token, apiKey } = await h.newUser();
      const started = await h.start(token);
      await h.settle();
      const agent = h.provider.agentFor(started.body.session_id)!;
      for (const t of [
        started.body.credentials.pair_token,
        started.body.credentials.relay_ws_token,
        agent.relay_credential,
        apiKey,
      ]) {
        expectEnvelope(await attack(t), 401, 'unauthorized');
      }
      const relayScheme = await h.app.inject({
        url: '/api/v1/relay/active',
        headers: { ...h.headers(token), authorization: `Relay ${agent.relay_credential}` },
      });
      expectEnvelope(relayScheme, 401, 'unauthorized');
    });

    it('accepts EdDSA tokens when EdDSA is configured and refuses HS256 ones then', async () => {
      const { user } = await h.newUser();
      const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
      const cfg = {
        alg: 'EdDSA' as const,
        signingKey: privateKey,
        verifyKey: publicKey,
        issuer: 'i',
        audience: 'a',
        ttlSeconds: 60,
      };
      const app = await h.replica({ jwt: cfg });
      const good = await signAccessToken(cfg, user.id, h.now());
      expect(
        (await app.inject({ url: '/api/v1/relay/active', headers: h.headers(good.token) })).statusCode,
      ).toBe(204);
      const hs = await new SignJWT({ sub: user.id, iss: 'i', aud: 'a', exp: Math.floor(h.now() / 1000) + 60 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(JWT_SECRET));
      expect((await app.inject({ url: '/api/v1/relay/active', headers: h.headers(hs) })).statusCode).toBe(
        401,
      );
      await app.close();
    });

    it('names missing client headers with 400, and refuses a bad platform', async () => {
      const { token } = await h.newUser();
      const res = await h.app.inject({
        url: '/api/v1/relay/active',
        headers: { authorization: `Bearer ${token}` },
      });
      const err = expectEnvelope(res, 400, 'invalid_request');
      expect(err.details.missing_headers).toEqual(['x-aegis-client-version', 'x-aegis-client-platform']);
      expect(err.message).toContain('x-aegis-client-version');
      const noAuth = await h.app.inject({
        url: '/api/v1/usage/current',
        headers: { 'x-aegis-client-version': '1' },
      });
      expect(expectEnvelope(noAuth, 400, 'invalid_request').details.missing_headers).toEqual([
        'authorization',
        'x-aegis-client-platform',
      ]);
      const platform = await h.app.inject({
        url: '/api/v1/relay/active',
        headers: h.headers(token, { 'x-aegis-client-platform': 'amiga' }),
      });
      expectEnvelope(platform, 400, 'invalid_request');
    });
  });

  describe('bad input stores nothing', () => {
    const countSessions = async (userId: string) =>
      (
        await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [
          userId,
        ])
      ).rows[0]!.n;

    it('malformed JSON, wrong types, unknown region, bad keys, 1 MiB body', async () => {
      const { user, token } = await h.newUser();
      const post = (payload: string | object, headers: Record<string, string> = {}) =>
        h.app.inject({
          method: 'POST',
          url: '/api/v1/relay/start',
          headers: h.headers(token, {
            'idempotency-key': crypto.randomUUID(),
            'content-type': 'application/json',
            ...headers,
          }),
          payload,
        });
      expect(expectEnvelope(await post('{"region_preference": '), 400, 'invalid_request').details.field).toBe(
        'body',
      );
      const wrongType = await post({
        ...START_BODY,
        client_context: { ...START_BODY.client_context, obs_connected: 'yes' },
      });
      expect(expectEnvelope(wrongType, 400, 'invalid_request').details.field).toBe(
        'client_context.obs_connected',
      );
      const region = await post({ ...START_BODY, region_preference: 'mars-north-1' });
      const regionErr = expectEnvelope(region, 400, 'invalid_request');
      expect(regionErr.details.field).toBe('region_preference');
      expect(regionErr.details.regions).toEqual(['eu-west-1', 'us-east-1']);
      expectEnvelope(await post(START_BODY, { 'idempotency-key': 'abc' }), 400, 'invalid_request');
      expectEnvelope(
        await post(START_BODY, { 'idempotency-key': '6ba7b810-9dad-11d1-80b4-00c04fd430c8' }),
        400,
        'invalid_request',
      );
      const big = await post(JSON.stringify({ ...START_BODY, pad: 'x'.repeat(1024 * 1024) }));
      expectEnvelope(big, 413, 'payload_too_large');
      const text = await post('hello', { 'content-type': 'text/plain' });
      expectEnvelope(text, 400, 'invalid_request');
      const noKey = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/start',
        headers: h.headers(token),
        payload: START_BODY,
      });
      expect(expectEnvelope(noKey, 400, 'invalid_request').details.missing_headers).toEqual([
        'idempotency-key',
      ]);
      expect(await countSessions(user.id)).toBe(0);
      const records = await h.db.query('SELECT 1 FROM idempotency_records WHERE user_id = $1', [user.id]);
      expect(records.rows).toHaveLength(0);
    });

    it('a 1 MiB body on the relay health endpoint is 413 too', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: 'Relay rly_x', 'content-type': 'application/json' },
        payload: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }),
      });
      expect([401, 413]).toContain(res.statusCode);
      expect(ApiErrorBody.safeParse(res.json()).success).toBe(true);
    });
  });

  describe('routes', () => {
    it('start → 201 provisioning with a well-formed session, then active reports it; 204 without one', async () => {
      const { user, token } = await h.newUser();
      expect(
        (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) })).statusCode,
      ).toBe(204);
      const res = await h.start(token, { ...START_BODY, region_preference: 'eu-west-1' });
      expect(res.status).toBe(201);
      const s = RelaySession.parse(res.body);
      expect(s).toMatchObject({ user_id: user.id, status: 'provisioning', region: 'eu-west-1' });
      expect(s.session_id).toMatch(/^ses_/);
      expect(s.credentials.pair_token).toMatch(/^[A-Z2-7]{16,79}$/);
      expect(s.timers).toMatchObject({ grace_window_seconds: 600, max_session_seconds: 57_600 });
      await h.settle();
      const active = await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) });
      const a = RelaySession.parse(active.json());
      expect(a.session_id).toBe(s.session_id);
      expect(a.relay.public_ip).toBe('127.0.0.1');
      expect(a.ingest.srt_url).toBe(
        `srt://127.0.0.1:${a.relay.srt_port}?mode=caller&passphrase=${s.credentials.pair_token}&latency=2000`,
      );
      expect(a.relay.srtla_port).toBeGreaterThan(0);
      expect(a.ingest.srtla_url).toBe(
        `srtla://127.0.0.1:${a.relay.srtla_port}?passphrase=${s.credentials.pair_token}&latency=2000`,
      );
      expect(a.ingest.obs_source_url).toMatch(
        /^srt:\/\/127\.0\.0\.1:\d+\?mode=caller&passphrase=[A-Z2-7]{24}&latency=2000000$/,
      );
      expect(a.relay.ws_url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/telemetry$/);
      const req = h.provider.provisioned.find((p) => p.session_id === s.session_id)!;
      expect(req).toMatchObject({ region: 'eu-west-1', image_id: 'ami-eu', instance_type: 't4g.small' });
      expect(req.agent.pair_token).toBe(s.credentials.pair_token);
      expect(req.agent.relay_credential).toMatch(/^rly_/);
      const hashRow = await h.db.query<{ credential_hash: string }>(
        'SELECT credential_hash FROM relay_instances WHERE session_id = $1',
        [s.session_id],
      );
      expect(hashRow.rows[0]?.credential_hash).not.toBe(req.agent.relay_credential);
    });

    it('auto picks the default region', async () => {
      const { token } = await h.newUser();
      expect((await h.start(token)).body.region).toBe('us-east-1');
      await h.settle();
    });

    it('health: 204 stores the report and masks source_ip; wrong session 403; unknown credential 401', async () => {
      const a = await h.newUser();
      const b = await h.newUser();
      const sa = (await h.start(a.token)).body.session_id;
      const sb = (await h.start(b.token)).body.session_id;
      await h.settle();
      expect(await h.health(sa)).toBe(204);
      const active = RelaySession.parse(
        (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(a.token) })).json(),
      );
      expect(active.links[0]?.source_ip).toBe('203.0.113.x');
      expect(active.bonded?.health).toBe('healthy');
      const stored = await h.db.query<{ payload_json: { links: { source_ip: string }[] } }>(
        'SELECT payload_json FROM relay_health_events WHERE session_id = $1',
        [sa],
      );
      expect(stored.rows[0]?.payload_json.links[0]?.source_ip).toBe('203.0.113.45');
      const credA = h.provider.agentFor(sa)!.relay_credential;
      const cross = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: `Relay ${credA}` },
        payload: { ...healthReportBody(sb, h.provider.instanceFor(sb)!, Date.now()) },
      });
      expectEnvelope(cross, 403, 'forbidden');
      const otherInstance = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: `Relay ${credA}` },
        payload: healthReportBody(sa, 'i-someone-else', Date.now()),
      });
      expectEnvelope(otherInstance, 403, 'forbidden');
      const unknown = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: 'Relay rly_UNKNOWN' },
        payload: healthReportBody(sa, 'x', Date.now()),
      });
      expectEnvelope(unknown, 401, 'unauthorized');
      const bearer = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: `Bearer ${a.token}` },
        payload: healthReportBody(sa, 'x', Date.now()),
      });
      expectEnvelope(bearer, 401, 'unauthorized');
      const badBody = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: `Relay ${credA}` },
        payload: {
          ...healthReportBody(sa, h.provider.instanceFor(sa)!, Date.now()),
          session_uptime_seconds: -1,
        },
      });
      expect(expectEnvelope(badBody, 400, 'invalid_request').details.field).toBe('session_uptime_seconds');
    });

    it("stop: 200 and idempotent; another user's session 404; bad reason 400; stopped session health 404", async () => {
      const a = await h.newUser();
      const b = await h.newUser();
      const sid = (await h.start(a.token)).body.session_id;
      await h.settle();
      const instance = h.provider.instanceFor(sid)!;
      const stop = (token: string, body: object) =>
        h.app.inject({ method: 'POST', url: '/api/v1/relay/stop', headers: h.headers(token), payload: body });
      expectEnvelope(await stop(b.token, { session_id: sid, reason: 'user_requested' }), 404, 'not_found');
      expectEnvelope(await stop(a.token, { session_id: sid, reason: 'bored' }), 400, 'invalid_request');
      const first = await stop(a.token, { session_id: sid, reason: 'user_requested' });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({
        session_id: sid,
        status: 'stopped',
        stopped_at: new Date(h.now()).toISOString(),
      });
      h.advance(5);
      const again = await stop(a.token, { session_id: sid, reason: 'shutdown' });
      expect(again.json()).toEqual(first.json());
      expect(
        (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(a.token) })).statusCode,
      ).toBe(204);
      expect(await h.health(sid, { instance_id: instance })).toBe(404);
      await h.settle();
      expect(h.provider.deprovisioned).toContain(instance);
    });

    it('manifest lists regions; 503 when empty', async () => {
      const { token } = await h.newUser();
      const res = await h.app.inject({ url: '/api/v1/relay/manifest', headers: h.headers(token) });
      expect(res.json().regions.map((r: { region: string; ami_id: string }) => [r.region, r.ami_id])).toEqual(
        [
          ['eu-west-1', 'ami-eu'],
          ['us-east-1', 'ami-us'],
        ],
      );
      const saved = await h.db.query<{ region: string; image_id: string; default_instance_type: string }>(
        'SELECT region, image_id, default_instance_type FROM relay_manifests',
      );
      await h.db.query('DELETE FROM relay_manifests');
      try {
        expectEnvelope(
          await h.app.inject({ url: '/api/v1/relay/manifest', headers: h.headers(token) }),
          503,
          'unavailable',
        );
        const start = await h.app.inject({
          method: 'POST',
          url: '/api/v1/relay/start',
          headers: h.headers(token, { 'idempotency-key': crypto.randomUUID() }),
          payload: START_BODY,
        });
        expectEnvelope(start, 503, 'unavailable');
      } finally {
        await seedManifest(h.db, saved.rows, new Date(h.now()));
      }
    });

    it('usage/current for a fresh starter user', async () => {
      const { token } = await h.newUser();
      const res = await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) });
      expect(UsageCurrentResponse.parse(res.json())).toEqual({
        plan_tier: 'starter',
        plan_status: 'active',
        cycle_start: new Date(h.now()).toISOString(),
        cycle_end: new Date(h.now()).toISOString().replace('2026-03-', '2026-04-'),
        included_seconds: 54_000,
        consumed_seconds: 0,
        remaining_seconds: 54_000,
        overage_seconds: 0,
      });
    });

    it('usage/current after the stored cycle ended (not yet rolled over) sums the current cycle', async () => {
      const { user, token } = await h.newUser();
      const first = await activeSession(h, token);
      h.advance(100);
      await h.stop(token, first);
      h.advance(20);
      // The stored cycle ends now: the first session (100 s) is in it, the second will not be.
      const boundary = new Date(h.now());
      await h.db.query(
        `UPDATE users SET cycle_start_at = $2::timestamptz - interval '1 month', cycle_end_at = $2 WHERE id = $1`,
        [user.id, boundary],
      );
      h.advance(10);
      await activeSession(h, token);
      h.advance(50);
      const body = UsageCurrentResponse.parse(
        (await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) })).json(),
      );
      expect(body.cycle_start).toBe(boundary.toISOString());
      expect(body.consumed_seconds).toBe(50);
    });

    it('entitlement: inactive subscription and exhausted Time Bank → 403 with the reason', async () => {
      const inactive = await h.newUser({ status: 'canceled' });
      const r1 = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/start',
        headers: h.headers(inactive.token, { 'idempotency-key': crypto.randomUUID() }),
        payload: START_BODY,
      });
      expect(expectEnvelope(r1, 403, 'forbidden').details.reason).toBe('subscription_inactive');
      const trial = await h.newUser({ status: 'trial' });
      expect((await h.start(trial.token)).status).toBe(201);
      const spent = await h.newUser();
      await h.db.query('UPDATE users SET included_seconds = 0 WHERE id = $1', [spent.user.id]);
      const r2 = await h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/start',
        headers: h.headers(spent.token, { 'idempotency-key': crypto.randomUUID() }),
        payload: START_BODY,
      });
      expect(expectEnvelope(r2, 403, 'forbidden').details.reason).toBe('time_bank_exhausted');
      const pro = await h.newUser({ plan: 'pro' });
      await h.db.query('UPDATE users SET included_seconds = 0 WHERE id = $1', [pro.user.id]);
      expect((await h.start(pro.token)).status).toBe(201);
      await h.settle();
    });

    it('refuses clients below the configured minimum version with client_too_old', async () => {
      const app = await h.replica({ minClientVersion: '0.1.0' });
      const { token } = await h.newUser();
      const res = await app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) });
      expect(expectEnvelope(res, 403, 'forbidden').details.reason).toBe('client_too_old');
      const ok = await app.inject({
        url: '/api/v1/relay/active',
        headers: h.headers(token, { 'x-aegis-client-version': '0.1.2' }),
      });
      expect(ok.statusCode).toBe(204);
      await app.close();
    });
  });

  describe('rate limits (defaults, shared through the database)', () => {
    it('the 7th start within a minute → 429 with X-RateLimit-* and Retry-After; a second app shares the count', async () => {
      const replicaA = await h.replica();
      const replicaB = await h.replica();
      const { token } = await h.newUser();
      // The window is aligned to the minute: start 10 s into one so all requests share it.
      const start = (app: typeof replicaA) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/relay/start',
          headers: h.headers(token, { 'idempotency-key': crypto.randomUUID() }),
          payload: START_BODY,
        });
      const codes: number[] = [];
      const remaining: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await start(i % 2 === 0 ? replicaA : replicaB);
        codes.push(res.statusCode);
        remaining.push(String(res.headers['x-ratelimit-remaining']));
        expect(res.headers['x-ratelimit-limit']).toBe('6');
      }
      expect(codes).toEqual([201, 200, 200, 200, 200, 200]);
      expect(remaining).toEqual(['5', '4', '3', '2', '1', '0']);
      const seventh = await start(replicaB);
      const err = expectEnvelope(seventh, 429, 'rate_limited');
      expect(err.details.limit).toBe(6);
      const reset = Number(seventh.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(60);
      expect(seventh.headers['retry-after']).toBe(String(reset));
      expect(seventh.headers['x-ratelimit-remaining']).toBe('0');
      h.advance(60);
      expect((await start(replicaA)).statusCode).toBe(200);
      expect((await replicaA.inject('/metrics')).body + (await replicaB.inject('/metrics')).body).toContain(
        'aegis_rate_limited_total{route="/api/v1/relay/start"} 1',
      );
      await replicaA.close();
      await replicaB.close();
    });

    it('auth/token is limited per key (10 per minute)', async () => {
      const app = await h.replica();
      const { apiKey } = await h.newUser();
      const other = await h.newUser();
      const hit = (key: string) =>
        app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { api_key: key } });
      for (let i = 0; i < 10; i++) expect((await hit(apiKey)).statusCode).toBe(200);
      expectEnvelope(await hit(apiKey), 429, 'rate_limited');
      expect((await hit(other.apiKey)).statusCode).toBe(200);
      await app.close();
    });
  });
});
