import { createLogger } from '@telemy/protocol';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineServer } from '../../src/server/server.js';

const TOKEN = 'tok-sign-in-page-secret';
const HOST = '127.0.0.1:7070';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let app: FastifyInstance;
beforeAll(async () => {
  app = await createEngineServer({
    host: '127.0.0.1',
    port: 7070,
    lanAccess: false,
    token: TOKEN,
    logger: createLogger('test', { level: 'silent' }),
    registry: new Registry(),
  });
  app.get('/', async () => 'the dock');
  app.get('/api/state', async () => ({ ok: true }));
});
afterAll(() => app.close());

describe('the dashboard opened without its token', () => {
  it('shows a browser a page saying where the link comes from, still as 401', async () => {
    const r = await app.inject({ method: 'GET', url: '/', headers: { host: HOST, accept: BROWSER } });
    expect(r.statusCode).toBe(401);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.body).toContain('<code>telemy start</code> prints it');
    expect(r.body).toContain('<code>telemy vault get local_access_token</code>');
    expect(r.body).toContain(`http://${HOST}/?token=`);
    expect(r.body).not.toContain(TOKEN);
  });

  it('says so when the token in the link is wrong', async () => {
    const r = await app.inject({
      method: 'GET',
      url: '/?token=from-another-folder',
      headers: { host: HOST, accept: BROWSER },
    });
    expect(r.statusCode).toBe(401);
    expect(r.body).toContain("This link's access token is not this engine's");
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('keeps the JSON 401 for API calls and for clients that do not ask for HTML', async () => {
    for (const [url, accept] of [
      ['/api/state', BROWSER],
      ['/api/state', 'application/json'],
      ['/', '*/*'],
    ] as const) {
      const r = await app.inject({ method: 'GET', url, headers: { host: HOST, accept } });
      expect(r.statusCode, `${url} ${accept}`).toBe(401);
      expect(r.headers['content-type'], `${url} ${accept}`).toMatch(/^application\/json/);
      expect(r.json().error.code).toBe('unauthorized');
    }
  });

  it('serves the dashboard itself with the token', async () => {
    const r = await app.inject({
      method: 'GET',
      url: `/?token=${TOKEN}`,
      headers: { host: HOST, accept: BROWSER },
    });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('the dock');
  });
});
