import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type Harness, makeHarness, openBackend } from './harness.js';
import { expectRawEnvelope, RawClient, rawRequest } from './raw-http.js';

/**
 * What the control plane does below its routes, on real sockets: the body and header timeouts, the
 * connection limit per client address, and the error envelope (with `x-request-id`) on everything
 * Node's parser or fastify's router refuses. HTTP only, so PGlite alone.
 */

async function listen(h: Harness): Promise<number> {
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  return (h.app.server.address() as AddressInfo).port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server has seen every earlier connection close. */
async function waitForNoConnections(h: Harness): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const n = await new Promise<number>((resolve, reject) =>
      h.app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
    );
    if (n === 0) return;
    await sleep(50);
  }
  throw new Error('connections of earlier tests are still open');
}

let backend: Backend;
beforeAll(async () => {
  backend = await openBackend('pglite');
});
afterAll(async () => {
  await backend?.close();
});

describe('timeouts (body 1 s, headers 1 s)', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await makeHarness(backend.db, { http: { bodyTimeoutMs: 1000, headersTimeoutMs: 1000 } });
    port = await listen(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a body trickled byte by byte gets 408 request_timeout in the envelope within the timeout, then the socket closes', async () => {
    const c = await RawClient.connect(port);
    const body = JSON.stringify({ api_key: `tmk_${'x'.repeat(150)}` });
    c.write(
      'POST /api/v1/auth/token HTTP/1.1\r\nHost: cp\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    const started = Date.now();
    const trickling = c.trickle(body, 50); // 8 s for the whole body
    const res = await c.response(4000);
    const tookMs = Date.now() - started;
    const err = expectRawEnvelope(res, 408, 'request_timeout');
    expect(err.details).toEqual({ timeout_seconds: 1 });
    expect(res.headers.connection).toBe('close');
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(tookMs).toBeLessThan(2500);
    await c.waitClosed(2000);
    expect(await trickling).toBeLessThan(body.length);
  });

  it('a trickled body behind an early answer (missing headers) is not waited for: the answer closes the connection', async () => {
    const c = await RawClient.connect(port);
    c.write(
      'POST /api/v1/relay/start HTTP/1.1\r\nHost: cp\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{',
    );
    void c.trickle('"x":1'.repeat(40), 50);
    const res = await c.response(2000);
    expectRawEnvelope(res, 400, 'invalid_request');
    expect(res.headers.connection).toBe('close');
    await c.waitClosed(2000);
  });

  it('a trickled body behind a success that never read it is cut off at the body timeout', async () => {
    const c = await RawClient.connect(port);
    c.write('GET /healthz HTTP/1.1\r\nHost: cp\r\nContent-Length: 200\r\n\r\n{');
    void c.trickle('x'.repeat(199), 50);
    expect((await c.response(2000)).status).toBe(200);
    await c.waitClosed(3000);
    expect(c.closedAfterMs).toBeGreaterThanOrEqual(900);
  });

  it('a body that arrives in time is served, and the connection is kept', async () => {
    const { apiKey } = await h.newUser();
    const c = await RawClient.connect(port);
    const body = JSON.stringify({ api_key: apiKey });
    c.write(
      'POST /api/v1/auth/token HTTP/1.1\r\nHost: cp\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    await c.trickle(body.slice(0, 10), 20);
    c.write(body.slice(10));
    const res = await c.response(3000);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).cp_access_jwt).toBeTruthy();
    await sleep(1300); // past the body timeout: nothing fires for a request that completed
    expect(c.closed).toBe(false);
    c.data = '';
    c.write('GET /healthz HTTP/1.1\r\nHost: cp\r\n\r\n');
    expect((await c.response()).status).toBe(200);
    c.destroy();
  });

  it('headers that do not arrive within the headers timeout → 408 in the envelope, then the socket closes', async () => {
    const c = await RawClient.connect(port);
    const started = Date.now();
    c.write('GET /healthz HTTP/1.1\r\nHost: cp\r\n');
    void c.trickle('X-Slow: ' + 'a'.repeat(100), 50);
    const res = await c.response(4000);
    const err = expectRawEnvelope(res, 408, 'request_timeout');
    expect(err.details).toEqual({ timeout_seconds: 1 });
    expect(Date.now() - started).toBeLessThan(3000);
    await c.waitClosed(2000);
  });

  it('a connection that never sends a byte is closed after the headers timeout', async () => {
    const c = await RawClient.connect(port);
    await c.waitClosed(4000);
    expect(c.closedAfterMs).toBeGreaterThanOrEqual(900);
  });
});

describe('the envelope on errors below the routes', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await makeHarness(backend.db);
    port = await listen(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('431 headers_too_large for oversized headers and for an oversized URL', async () => {
    const big = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: cp\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(expectRawEnvelope(big, 431, 'headers_too_large').details).toEqual({ limit_bytes: 16_384 });
    expect(big.headers.connection).toBe('close');
    const url = await rawRequest(port, `GET /api/v1/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: cp\r\n\r\n`);
    expectRawEnvelope(url, 431, 'headers_too_large');
  });

  it('400 for Content-Length with Transfer-Encoding (request smuggling), in either order', async () => {
    for (const headers of [
      'Content-Length: 5\r\nTransfer-Encoding: chunked',
      'Transfer-Encoding: chunked\r\nContent-Length: 5',
    ]) {
      const res = await rawRequest(
        port,
        `POST /api/v1/auth/token HTTP/1.1\r\nHost: cp\r\nContent-Type: application/json\r\n${headers}\r\n\r\n0\r\n\r\n`,
      );
      expectRawEnvelope(res, 400, 'invalid_request');
    }
  });

  it('400 for other bytes the parser refuses: a bad header name, a bad method, HTTP/2 without upgrade', async () => {
    for (const request of [
      'GET /healthz HTTP/1.1\r\nHost: cp\r\nBad Header: x\r\n\r\n',
      'GE(T /healthz HTTP/1.1\r\nHost: cp\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    ]) {
      expectRawEnvelope(await rawRequest(port, request), 400, 'invalid_request');
    }
  });

  it('400 for a URL that is not validly percent-encoded, with x-request-id', async () => {
    const res = await rawRequest(port, 'GET /api/v1/relay/%E0%A4%A HTTP/1.1\r\nHost: cp\r\n\r\n');
    expect(expectRawEnvelope(res, 400, 'invalid_request').details).toEqual({ field: 'url' });
  });

  it('404 for an unknown route and 400 for an Expect other than 100-continue, both enveloped', async () => {
    expectRawEnvelope(await rawRequest(port, 'GET /nope HTTP/1.1\r\nHost: cp\r\n\r\n'), 404, 'not_found');
    const expectation = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: cp\r\nExpect: teapot\r\n\r\n');
    expect(expectRawEnvelope(expectation, 400, 'invalid_request').details).toEqual({ field: 'expect' });
  });

  it('counts the refusals in aegis_http_requests_total (route "rejected")', async () => {
    const metrics = (await h.app.inject('/metrics')).body;
    expect(metrics).toMatch(
      /aegis_http_requests_total\{route="rejected",method="unknown",status="431"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /aegis_http_requests_total\{route="rejected",method="unknown",status="400"\} [1-9]/,
    );
  });
});

describe('connections per client address (limit 4)', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await makeHarness(backend.db, { http: { maxConnectionsPerAddress: 4 } });
    port = await listen(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the connection over the limit gets 503 unavailable and is closed; those under it keep working', async () => {
    const held = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(port)));
    await sleep(100);

    // An idle fifth connection is answered on its own and closed.
    const idle = await RawClient.connect(port);
    const refused = await idle.response(3000);
    const err = expectRawEnvelope(refused, 503, 'unavailable');
    expect(err.details).toEqual({ reason: 'too_many_connections', limit: 4, retry_after_seconds: 1 });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers.connection).toBe('close');
    await idle.waitClosed(4000);

    // A fifth connection that sends its request at once reads the 503 as its response.
    const eager = await RawClient.connect(port);
    eager.write('GET /healthz HTTP/1.1\r\nHost: cp\r\n\r\n');
    expectRawEnvelope(await eager.response(3000), 503, 'unavailable');
    await eager.waitClosed(4000);
    expect(eager.error).toBeNull(); // closed cleanly, not reset under the answer

    // The four under the limit are served, each several times (keep-alive).
    for (let round = 0; round < 2; round++) {
      for (const c of held) {
        c.data = '';
        c.write('GET /healthz HTTP/1.1\r\nHost: cp\r\n\r\n');
        const res = await c.response();
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toEqual({ status: 'ok', version: expect.any(String) });
      }
    }

    // One closes: a new connection is accepted again.
    held[0]!.destroy();
    await sleep(100);
    const next = await RawClient.connect(port);
    next.write('GET /healthz HTTP/1.1\r\nHost: cp\r\n\r\n');
    expect((await next.response()).status).toBe(200);
    next.destroy();
    for (const c of held) c.destroy();

    const metrics = (await h.app.inject('/metrics')).body;
    expect(metrics).toContain('aegis_http_requests_total{route="rejected",method="unknown",status="503"} 2');
  });

  it('fetch (keep-alive pool) under the limit sees no refusal', async () => {
    await waitForNoConnections(h);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status)),
    );
    expect(results).toEqual([200, 200, 200, 200]);
  });
});
