import { readdirSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type DockState } from '@telemy/protocol';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerDockSocket } from '../../src/server/dock-socket.js';
import { buildDockState } from '../../src/server/dock-state.js';
import { presentedToken, redactToken } from '../../src/server/security.js';
import { createEngineServer } from '../../src/server/server.js';
import { baseInputs } from './dock-fixtures.js';

/**
 * The engine's server at the socket level: refused WebSocket upgrades close their sockets (no
 * descriptor leak, `close()` never held up), and every error it sends — route, hook, fastify's URL
 * decoding, Node's parser, `ws`'s handshake — carries the envelope with a request id and never the
 * access token.
 */

const TOKEN = 'tok-Kz81-access-token-value';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Harness {
  app: FastifyInstance;
  port: number;
  host: string;
  logs: string[];
}

let open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.map((a) => a.close()));
  open = [];
});

/** The server's Host check needs the port up front, so take a free one first. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function start(): Promise<Harness> {
  const logs: string[] = [];
  const logger = createLogger('engine-test', {
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  });
  const port = await freePort();
  const app = await createEngineServer({
    host: '127.0.0.1',
    port,
    lanAccess: false,
    token: TOKEN,
    logger,
    registry: new Registry(),
  });
  const state: DockState = buildDockState(baseInputs());
  registerDockSocket(app, {
    authorize: () => true,
    getState: () => state,
    onAction: async (a) => ({ action_id: a.action_id, action: a.type, status: 'completed' }),
    pushIntervalMs: 60_000,
    pingIntervalMs: 60_000,
  });
  app.get('/boom', async () => {
    throw new Error('route failed');
  });
  await app.listen({ host: '127.0.0.1', port });
  open.push(app);
  return { app, port, host: `127.0.0.1:${port}`, logs };
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server ended the connection (the client saw 'end' or 'close') within the wait. */
  closedByServer: boolean;
  /** From the first byte of the answer to the server's end of the connection. */
  closeAfterMs: number;
}

/**
 * Sends `request` as it is over a plain TCP socket and reads until the server ends the connection
 * or `waitMs` passes; the client then closes its side. No HTTP client: it would fix what we test.
 */
function rawRequest(port: number, request: string | Buffer, waitMs = 2000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    let firstByteAt = 0;
    let endedAt = 0;
    const done = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners('close');
      socket.once('close', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const split = text.indexOf('\r\n\r\n');
        const head = split >= 0 ? text.slice(0, split) : text;
        const [statusLine = '', ...lines] = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of lines) {
          const i = l.indexOf(':');
          if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        resolve({
          status: Number(statusLine.split(' ')[1] ?? 0),
          headers,
          body: split >= 0 ? text.slice(split + 4) : '',
          closedByServer,
          closeAfterMs: closedByServer ? endedAt - firstByteAt : Number.POSITIVE_INFINITY,
        });
      });
      socket.destroy();
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (d: Buffer) => {
      if (firstByteAt === 0) firstByteAt = Date.now();
      chunks.push(d);
    });
    socket.on('end', () => {
      endedAt = Date.now();
      done(true);
    });
    socket.on('close', () => {
      endedAt = Date.now();
      done(true);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer is the server closing too; before any answer it is a failure.
      if (chunks.length === 0 && err.code !== 'ECONNRESET') reject(err);
    });
  });
}

function upgradeRequest(host: string, path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function get(host: string, path: string, headers: Record<string, string> = {}): string {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The envelope of every engine error, with its id also in X-Request-Id. */
function expectEnvelope(a: RawAnswer, status: number, code: string): { message: string; request_id: string } {
  expect(a.status, a.body).toBe(status);
  expect(a.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(a.body) as { error: { code: string; message: string; request_id: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.request_id).toMatch(UUID);
  expect(a.headers['x-request-id']).toBe(body.error.request_id);
  return body.error;
}

const openFds = () => readdirSync('/proc/self/fd').length;

async function settle(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('refused WebSocket upgrades', () => {
  it('close their socket at once; 1,000 of them leave the open file descriptors flat', async () => {
    const h = await start();
    const kinds: {
      name: string;
      headers: Record<string, string>;
      query: string;
      status: number;
      code: string;
    }[] = [
      {
        name: 'foreign Origin',
        headers: { Origin: 'http://evil.example' },
        query: `?token=${TOKEN}`,
        status: 403,
        code: 'forbidden_origin',
      },
      { name: 'no token', headers: {}, query: '', status: 401, code: 'unauthorized' },
      { name: 'wrong token', headers: {}, query: '?token=not-the-token', status: 401, code: 'unauthorized' },
      {
        name: 'bad cookie',
        headers: { Cookie: 'telemy_token=%E0%A4%A' },
        query: '',
        status: 401,
        code: 'unauthorized',
      },
    ];
    const one = async (i: number) => {
      const k = kinds[i % kinds.length] as (typeof kinds)[number];
      const a = await rawRequest(h.port, upgradeRequest(h.host, `/ws${k.query}`, k.headers), 1500);
      expect(a.closedByServer, `${k.name}: the server left the socket open`).toBe(true);
      expectEnvelope(a, k.status, k.code);
      expect(a.headers.connection).toBe('close');
      return a.closeAfterMs;
    };
    // Warm up (lazy allocations, the first connections), then count.
    for (let i = 0; i < 20; i++) await one(i);
    await settle(() => false, 100);
    const before = openFds();

    const closeTimes: number[] = [];
    const TOTAL = 1000;
    const PARALLEL = 25;
    for (let i = 0; i < TOTAL; i += PARALLEL) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(PARALLEL, TOTAL - i) }, (_, j) => one(i + j)),
      );
      closeTimes.push(...batch);
    }
    await settle(() => openFds() <= before + 5);
    expect(openFds() - before).toBeLessThanOrEqual(5);
    expect(closeTimes).toHaveLength(TOTAL);
    // "At once": after the answer, not after a timeout of some sort.
    expect(Math.max(...closeTimes)).toBeLessThan(1000);
  }, 60_000);

  it('refused at any stage — 421, 404, a URL fastify cannot decode, a bad handshake — the socket closes', async () => {
    const h = await start();
    const cases: [string, Record<string, string>, number, string][] = [
      [`/ws?token=${TOKEN}`, { Host: 'evil.example' }, 421, 'misdirected_request'],
      [`/nowhere?token=${TOKEN}`, {}, 404, 'not_found'],
      [`/w%zz?token=${TOKEN}`, {}, 400, 'invalid_request'],
    ];
    for (const [path, headers, status, code] of cases) {
      const req = headers.Host ? upgradeRequest(headers.Host, path) : upgradeRequest(h.host, path, headers);
      const a = await rawRequest(h.port, req, 1500);
      expect(a.closedByServer, path).toBe(true);
      expectEnvelope(a, status, code);
      expect(a.body).not.toContain(TOKEN);
    }
    // Token and Origin fine, but `ws` refuses the handshake itself.
    const badKey = upgradeRequest(h.host, `/ws?token=${TOKEN}`).replace(
      'dGhlIHNhbXBsZSBub25jZQ==',
      'not-a-key',
    );
    const a = await rawRequest(h.port, badKey, 1500);
    expect(a.closedByServer).toBe(true);
    expectEnvelope(a, 400, 'invalid_request');
  });

  it('do not hold up close(): the server closes promptly after refusals a client never hung up', async () => {
    const h = await start();
    // Clients that keep their side open: before the fix the server's sockets stayed with them.
    const clients: Socket[] = [];
    for (const headers of [{ Origin: 'http://evil.example' }, {}] as Record<string, string>[]) {
      const s = connect(h.port, '127.0.0.1');
      s.on('error', () => {});
      s.write(upgradeRequest(h.host, '/ws', headers));
      await new Promise((r) => s.once('data', r));
      clients.push(s);
    }
    const t0 = Date.now();
    await h.app.close();
    open = [];
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const s of clients) s.destroy();
  });

  it('a connected dock that never answers the close handshake does not hold up close() either', async () => {
    const h = await start();
    const s = connect(h.port, '127.0.0.1');
    s.on('error', () => {});
    s.write(upgradeRequest(h.host, `/ws?token=${TOKEN}`, { Origin: `http://${h.host}` }));
    const first = await new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString('latin1'))));
    expect(first).toMatch(/^HTTP\/1\.1 101/);
    s.pause(); // a laptop whose lid closed: nothing read, nothing answered
    const t0 = Date.now();
    await h.app.close();
    open = [];
    expect(Date.now() - t0).toBeLessThan(2500);
    s.destroy();
  });
});

describe('every error the server sends has the envelope and a request id', () => {
  it('431 for oversized headers (Node parser), connection closed', async () => {
    const h = await start();
    const a = await rawRequest(h.port, get(h.host, '/api/state', { 'X-Big': 'a'.repeat(20_000) }));
    expectEnvelope(a, 431, 'headers_too_large');
    expect(a.headers.connection).toBe('close');
    expect(a.closedByServer).toBe(true);
  });

  it('431 for an oversized URL carrying ?token=, not echoed', async () => {
    const h = await start();
    const a = await rawRequest(h.port, get(h.host, `/api/state?token=${TOKEN}&pad=${'x'.repeat(20_000)}`));
    expectEnvelope(a, 431, 'headers_too_large');
    expect(a.body).not.toContain(TOKEN);
  });

  it('400 for a smuggling-style request (Content-Length and Transfer-Encoding), connection closed', async () => {
    const h = await start();
    const smuggle = [
      'POST /api/intent HTTP/1.1',
      `Host: ${h.host}`,
      `Authorization: Bearer ${TOKEN}`,
      'Content-Type: application/json',
      'Content-Length: 6',
      'Transfer-Encoding: chunked',
      '',
      '0',
      '',
      'GET /api/state HTTP/1.1',
      `Host: ${h.host}`,
      '',
      '',
    ].join('\r\n');
    const a = await rawRequest(h.port, smuggle);
    expectEnvelope(a, 400, 'invalid_request');
    expect(a.closedByServer).toBe(true);
    // One answer only: the smuggled second request was never served.
    expect(a.body).not.toMatch(/HTTP\/1\.1 \d{3}/);
  });

  it('400 for a bad percent-encoding in the URL, the URL and its ?token= not echoed', async () => {
    const h = await start();
    for (const path of [`/%zz?token=${TOKEN}`, `/api/%E0%A4%A?token=${TOKEN}`]) {
      const a = await rawRequest(h.port, get(h.host, path));
      const e = expectEnvelope(a, 400, 'invalid_request');
      expect(a.body).not.toContain(TOKEN);
      expect(e.message).not.toContain('%');
      expect(a.headers['content-security-policy']).toContain("default-src 'self'");
    }
    expect(h.logs.join('')).not.toContain(TOKEN);
  });

  it('401 (not 500) for a malformed telemy_token cookie; a good token next to it still works', async () => {
    const h = await start();
    for (const cookie of ['telemy_token=%E0%A4%A', 'telemy_token=%', 'a=b; telemy_token=%zz%']) {
      const a = await rawRequest(h.port, get(h.host, '/api/state', { Cookie: cookie }));
      expectEnvelope(a, 401, 'unauthorized');
    }
    const ok = await rawRequest(
      h.port,
      get(h.host, '/metrics', { Cookie: 'telemy_token=%zz', Authorization: `Bearer ${TOKEN}` }),
    );
    expect(ok.status).toBe(200);
    expect(h.logs.join('')).not.toMatch(/"level":50/);
  });

  it('route errors: 404, 426 (plain GET /ws) and 500 carry the envelope; neither the body nor the log has the token', async () => {
    const h = await start();
    const notFound = await rawRequest(h.port, get(h.host, `/nowhere?token=${TOKEN}`));
    expect(expectEnvelope(notFound, 404, 'not_found').message).toBe('no route GET /nowhere');
    const boom = await rawRequest(h.port, get(h.host, `/boom?token=${TOKEN}`));
    const e = expectEnvelope(boom, 500, 'internal_error');
    expect(e.message).toBe('internal error');
    const plainGet = await rawRequest(h.port, get(h.host, `/ws?token=${TOKEN}`));
    expectEnvelope(plainGet, 426, 'upgrade_required');
    for (const a of [notFound, boom, plainGet]) expect(a.body).not.toContain(TOKEN);
    await settle(() => h.logs.some((l) => l.includes('request failed')));
    const failed = h.logs.find((l) => l.includes('request failed')) ?? '';
    expect(failed).toContain(e.request_id);
    expect(h.logs.join('')).not.toContain(TOKEN);
  });

  it('the hook refusals (421, 403, 401) carry a request id too', async () => {
    const h = await start();
    expectEnvelope(await rawRequest(h.port, get('evil.example', '/api/state')), 421, 'misdirected_request');
    const post = [
      'POST /api/settings HTTP/1.1',
      `Host: ${h.host}`,
      'Origin: http://evil.example',
      `Authorization: Bearer ${TOKEN}`,
      'Content-Type: application/json',
      'Content-Length: 2',
      'Connection: close',
      '',
      '{}',
    ].join('\r\n');
    expectEnvelope(await rawRequest(h.port, post), 403, 'forbidden_origin');
    expectEnvelope(await rawRequest(h.port, get(h.host, '/api/state')), 401, 'unauthorized');
  });
});

describe('token handling', () => {
  it('a malformed cookie is no token; the query token is then used', () => {
    expect(presentedToken({ cookie: 'telemy_token=%E0%A4%A' })).toBeNull();
    expect(presentedToken({ cookie: 'telemy_token=%zz', queryToken: 'q' })).toBe('q');
    expect(presentedToken({ cookie: 'telemy_token=a%2Bb' })).toBe('a+b');
  });

  it('redactToken hides the value of token= in URLs and cookies', () => {
    expect(redactToken('/x?token=abc&y=1')).toBe('/x?token=[redacted]&y=1');
    expect(redactToken("'/%zz?TOKEN=abc' is bad")).toBe("'/%zz?TOKEN=[redacted]' is bad");
    expect(redactToken('telemy_token=abc; other=1')).toBe('telemy_token=[redacted]; other=1');
  });
});
