import { ApiErrorBody, PG_INT4_MAX, PG_TIMESTAMP_MIN } from '@telemy/protocol';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { activeSession, BACKENDS, harnessPerSuite, healthReportBody, JWT_SECRET } from './harness.js';

/**
 * Values PostgreSQL cannot store — a NUL, an unpaired UTF-16 surrogate, an integer beyond its
 * column — are refused by the request schemas with a 400 naming the field, on both backends, and
 * nothing of the request is stored. Before, they reached the database and came back as 500.
 */

const NUL = 'a\u0000b';
const LEAD = 'a\ud800b';
const TRAIL = '\udc00';

type Response = { statusCode: number; body: string; json(): unknown; headers: Record<string, unknown> };

function envelope(res: Response) {
  const body = ApiErrorBody.parse(res.json());
  expect(body.error.request_id).toBe(res.headers['x-request-id']);
  return { status: res.statusCode, code: body.error.code, field: body.error.details.field };
}

/** Status, code and field of an answer, and whether its message names the field; whatever it is. */
function outcome(res: Response) {
  const parsed = ApiErrorBody.safeParse(res.body ? JSON.parse(res.body) : null);
  if (!parsed.success) return { status: res.statusCode };
  const { code, message, details } = parsed.data.error;
  const field = details.field;
  return {
    status: res.statusCode,
    code,
    field,
    messageNamesField: typeof field === 'string' && message.includes(field),
  };
}

describe.each(BACKENDS)('values the database cannot store, on %s', (kind) => {
  const h = harnessPerSuite(kind);

  const healthReport = (sessionId: string, instanceId: string) =>
    healthReportBody(sessionId, instanceId, h.now());

  /** What the database holds about a session: its status, its health rows, its relay's instance id. */
  const stored = async (sessionId: string) => {
    const { rows } = await h.db.query<{ status: string; events: number; instance: string | null }>(
      `SELECT s.status,
              (SELECT count(*)::int FROM relay_health_events e WHERE e.session_id = s.id) AS events,
              r.provider_instance_id AS instance
       FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id WHERE s.id = $1`,
      [sessionId],
    );
    return rows[0];
  };

  it('relay health: NUL and unpaired surrogates in its strings, an uptime beyond integer, a time before 1970 → 400 naming the field', async () => {
    const { token } = await h.newUser();
    const sid = await activeSession(h, token);
    const instance = h.provider.instanceFor(sid)!;
    const credential = h.provider.agentFor(sid)!.relay_credential;
    const post = (payload: string | object) =>
      h.app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: `Relay ${credential}`, 'content-type': 'application/json' },
        payload,
      });
    const good = healthReport(sid, instance);
    const link = good.links[0]!;
    const before = await stored(sid);
    expect(before).toEqual({ status: 'active', events: 1, instance });

    const cases: [string, object | string][] = [
      ['session_id', { ...good, session_id: `${sid}\u0000` }],
      ['session_id', { ...good, session_id: LEAD }],
      ['instance_id', { ...good, instance_id: NUL }],
      ['instance_id', { ...good, instance_id: `${instance}${TRAIL}` }],
      ['links.0.label', { ...good, links: [{ ...link, label: NUL }] }],
      ['links.0.label', { ...good, links: [{ ...link, label: LEAD }] }],
      ['links.0.label', { ...good, links: [{ ...link, label: TRAIL }] }],
      ['links.0.link_id', { ...good, links: [{ ...link, link_id: NUL }] }],
      ['links.0.source_ip', { ...good, links: [{ ...link, source_ip: `203.0.113.45${TRAIL}` }] }],
      ['session_uptime_seconds', { ...good, session_uptime_seconds: 2 ** 31 }],
      ['observed_at', { ...good, observed_at: '0000-01-01T00:00:00Z' }],
      ['observed_at', { ...good, observed_at: '0001-01-01T00:00:00Z' }],
      ['observed_at', { ...good, observed_at: '1969-12-31T23:59:59.999Z' }],
      ['session_uptime_seconds', { ...good, session_uptime_seconds: 2 ** 53 }],
      // JSON.parse reads 1e400 as Infinity.
      [
        'session_uptime_seconds',
        JSON.stringify(good).replace('"session_uptime_seconds":10', '"session_uptime_seconds":1e400'),
      ],
    ];
    const got = [];
    for (const [, payload] of cases) got.push(outcome(await post(payload)));
    expect(got).toEqual(
      cases.map(([field]) => ({ status: 400, code: 'invalid_request', field, messageNamesField: true })),
    );
    expect(await stored(sid)).toEqual(before);

    // The largest integer the column holds, the earliest time, and text with paired surrogates (an
    // emoji) are stored as sent.
    const edge = {
      ...good,
      session_uptime_seconds: PG_INT4_MAX,
      observed_at: PG_TIMESTAMP_MIN,
      links: [{ ...link, label: 'phone 📱' }],
    };
    expect((await post(edge)).statusCode).toBe(204);
    const { rows } = await h.db.query<{ up: number; label: string; observed: Date }>(
      `SELECT session_uptime_seconds AS up, payload_json->'links'->0->>'label' AS label, observed_at AS observed
       FROM relay_health_events WHERE session_id = $1 ORDER BY id DESC LIMIT 1`,
      [sid],
    );
    expect(rows[0]).toEqual({
      up: PG_INT4_MAX,
      label: 'phone 📱',
      observed: new Date(PG_TIMESTAMP_MIN),
    });
  });

  it('relay stop: a session_id with NUL or an unpaired surrogate → 400 naming it; the session stays', async () => {
    const { token } = await h.newUser();
    const sid = await activeSession(h, token);
    for (const session_id of [`${sid}\u0000`, NUL, `${sid}${TRAIL}`, LEAD]) {
      const res = await h.stop(token, session_id);
      expect(envelope(res)).toEqual({ status: 400, code: 'invalid_request', field: 'session_id' });
    }
    expect((await stored(sid))?.status).toBe('active');
    expect((await h.stop(token, sid)).statusCode).toBe(200);
  });

  it('auth/token: an api_key with NUL or an unpaired surrogate → 400 naming it', async () => {
    for (const api_key of [NUL, LEAD]) {
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { api_key } });
      expect(envelope(res)).toEqual({ status: 400, code: 'invalid_request', field: 'api_key' });
    }
  });

  it('an access token whose sub holds a NUL or an unpaired surrogate is unauthorized (401), like any invalid claim', async () => {
    const { user } = await h.newUser();
    const nowS = Math.floor(h.now() / 1000);
    const sign = (sub: string) =>
      new SignJWT({ sub, iss: 'telemy-control-plane', aud: 'telemy-api', iat: nowS, exp: nowS + 600 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(JWT_SECRET));
    for (const sub of [`${user.id}\u0000`, '\u0000', `${user.id}${TRAIL}`, LEAD]) {
      for (const url of ['/api/v1/relay/active', '/api/v1/usage/current']) {
        const res = await h.app.inject({ url, headers: h.headers(await sign(sub)) });
        expect({ sub, url, ...envelope(res) }).toEqual({
          sub,
          url,
          status: 401,
          code: 'unauthorized',
          field: undefined,
        });
      }
    }
    expect(
      (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(await sign(user.id)) }))
        .statusCode,
    ).toBe(204);
  });
});
