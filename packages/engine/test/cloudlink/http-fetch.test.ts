import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient } from '../../src/cloudlink/control-plane-client.js';
import { httpFetch } from '../../src/cloudlink/http-fetch.js';

/** The control-plane client's default transport against a real HTTP server on loopback. */

let server: http.Server;
let base = '';
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/silent')) return;
      res.setHeader('x-request-id', 'req-7');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ echo: body, path: req.url }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('httpFetch', () => {
  it('sends the method, headers and body, and reads status, headers and body', async () => {
    const res = await httpFetch(`${base}/api/v1/relay/start?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Request-ID')).toBe('req-7');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(JSON.parse(await res.text())).toEqual({ echo: '{"a":1}', path: '/api/v1/relay/start?x=1' });
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
    });
  });

  it('resolves HTTP errors as responses, and rejects on timeout and refused connections', async () => {
    expect((await httpFetch(`${base}/missing`, {})).status).toBe(404);
    expect(seen.at(-1)?.method).toBe('GET');
    await expect(httpFetch(`${base}/silent`, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      name: 'AbortError',
    });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(httpFetch(`http://127.0.0.1:${port}/`, {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('is what ControlPlaneClient uses by default: timeouts and refusals read as the client reports them', async () => {
    const client = new ControlPlaneClient({
      baseUrl: `${base}/silent`,
      getSecret: () => 'tmk_test',
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
      requestTimeoutMs: 100,
    });
    await expect(client.active()).rejects.toThrow(/control plane unreachable at .*: request timed out/);
  });
});
