import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { ensureDockBuilt } from '@telemy/dock';
import { Vault } from '@telemy/engine/vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { findSecrets } from '../support/secret-scan.js';
import {
  newTelemyHome,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../support/telemy-process.js';

/**
 * Spec 60 §4 against the real `telemy engine` (cloud off, no OBS listening): loopback-only binding,
 * token on every route and the WebSocket, Host check, Origin check on state changes and upgrades, CSP,
 * and no secret in any DockState frame or in `/api/state`.
 */

const ENGINE_PORT = 7211;
const NO_OBS_PORT = 44749;
const LAN_PORT = 7213;
const HOST = `127.0.0.1:${ENGINE_PORT}`;
const ORIGIN = `http://${HOST}`;
const SECRETS = {
  obs_password: 'sec-obs-password-5Kq9',
  cloud_api_key: 'tlm_live_sec_api_key_8Zr2Xw',
  twitch_token: 'oauth:sec-chat-token-3Hv7',
};

let engine: TelemyProcess;
let token: string;
let home: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch: fetch will not send a foreign Host header. */
function call(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: ENGINE_PORT, method, path, headers: { host: HOST, ...opts.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const bearer = () => ({ authorization: `Bearer ${token}` });

/** Opens `/ws`; resolves with the HTTP status of a refused upgrade, or the frames of an accepted one. */
function upgrade(
  query: string,
  headers: Record<string, string>,
  collectMs = 0,
): Promise<{ status: number; frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}/ws${query}`, { headers });
    const frames: string[] = [];
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, frames });
    });
    ws.on('message', (d) => frames.push(d.toString()));
    ws.on('open', () => setTimeout(() => ws.close(), collectMs));
    ws.on('close', () => resolve({ status: 101, frames }));
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

beforeAll(async () => {
  await ensureDockBuilt();
  home = newTelemyHome();
  writeConfig(
    home,
    [`[obs]\nport = ${NO_OBS_PORT}`, `[server]\nport = ${ENGINE_PORT}`, '[cloud]\nmode = "off"', ''].join(
      '\n',
    ),
  );
  // In-process (a key file, as on these machines): `telemy vault set` is covered elsewhere and costs a CLI start per key.
  const vault = await Vault.open(home, { keyring: null });
  for (const [key, value] of Object.entries(SECRETS)) vault.set(key, value);
  engine = startTelemy(['engine', '--config', `${home}/config.toml`], { home });
  token = (await engine.waitFor(/dashboard: \S+\?token=(\S+)/))[1] as string;
});

afterAll(async () => {
  await engine?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('local server security (spec 60 §4)', () => {
  it('refuses every HTTP route without the token (401), and with a wrong one', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/index.html'],
      ['GET', '/api/state'],
      ['GET', '/api/diagnostics'],
      ['GET', '/metrics'],
      ['POST', '/api/intent'],
      ['POST', '/api/settings'],
    ] as const) {
      const body = method === 'POST' ? '{"intent":"BRB"}' : undefined;
      const headers = body ? { 'content-type': 'application/json' } : undefined;
      const none = await call(method, path, { headers, body });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(JSON.parse(none.body).error.code).toBe('unauthorized');
      const wrong = await call(method, path, {
        headers: { ...headers, authorization: 'Bearer not-the-token' },
        body,
      });
      expect(wrong.status, `${method} ${path} wrong token`).toBe(401);
    }
    expect((await call('GET', '/?token=not-the-token')).status).toBe(401);
    const ok = await call('GET', '/api/state', { headers: bearer() });
    expect(ok.status).toBe(200);
  });

  it('/healthz answers without the token and says nothing more than ok', async () => {
    const r = await call('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok' });
  });

  it('refuses the WebSocket upgrade without the token (401) and accepts it with it', async () => {
    expect((await upgrade('', { origin: ORIGIN })).status).toBe(401);
    expect((await upgrade('?token=not-the-token', { origin: ORIGIN })).status).toBe(401);
    const ok = await upgrade(`?token=${token}`, { origin: ORIGIN }, 200);
    expect(ok.status).toBe(101);
    expect(JSON.parse(ok.frames[0] ?? '{}').type).toBe('state');
  });

  it('answers 421 to a foreign Host header, even with the token (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${ENGINE_PORT}`, `127.0.0.1:${ENGINE_PORT + 1}`]) {
      const r = await call('GET', '/api/state', { headers: { ...bearer(), host } });
      expect(r.status, host).toBe(421);
    }
    expect(
      (await upgrade(`?token=${token}`, { host: 'evil.example', origin: 'http://evil.example' })).status,
    ).toBe(421);
  });

  it('refuses a cross-origin POST and a cross-origin WebSocket upgrade with 403, even with the token', async () => {
    const post = (origin: string) =>
      call('POST', '/api/settings', {
        headers: { ...bearer(), origin, 'content-type': 'application/json' },
        body: '{"alerts":false}',
      });
    const evil = await post('http://evil.example');
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.code).toBe('forbidden_origin');
    expect((await post(`http://localhost:${ENGINE_PORT}`)).status).toBe(403);
    const flags = JSON.parse((await call('GET', '/api/state', { headers: bearer() })).body).engine.flags;
    expect(flags.alerts).toBe(true);

    const same = await post(ORIGIN);
    expect(same.status).toBe(200);
    expect(JSON.parse(same.body).flags.alerts).toBe(false);

    expect((await upgrade(`?token=${token}`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await upgrade(`?token=${token}`, { origin: 'null' })).status).toBe(403);
  });

  it('serves the page with a strict CSP and turns ?token= into an HttpOnly SameSite=Strict cookie', async () => {
    const page = await call('GET', `/?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const cookie = String(page.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const name = cookie.split(';')[0] as string;
    const viaCookie = await call('GET', '/api/state', { headers: { cookie: name } });
    expect(viaCookie.status).toBe(200);
    expect(
      String((await call('GET', '/api/state', { headers: bearer() })).headers['content-security-policy']),
    ).toContain("default-src 'self'");
  });

  it('listens on 127.0.0.1 only, and refuses a non-loopback host unless lan_access is on', async () => {
    const hexPort = ENGINE_PORT.toString(16).toUpperCase().padStart(4, '0');
    const listening = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
        .map((f) => f[1]);
    expect(listening('/proc/net/tcp')).toEqual([`0100007F:${hexPort}`]);
    expect(listening('/proc/net/tcp6')).toEqual([]);

    const lan = newTelemyHome();
    try {
      writeConfig(
        lan,
        `[obs]\nport = ${NO_OBS_PORT}\n[server]\nhost = "0.0.0.0"\nport = ${LAN_PORT}\n[cloud]\nmode = "off"\n`,
      );
      const r = telemySync(['engine', '--config', `${lan}/config.toml`], { home: lan });
      expect(r.status).not.toBe(0);
      expect(r.status).not.toBeNull();
      expect(r.stderr).toMatch(/lan_access = true/);
    } finally {
      rmSync(lan, { recursive: true, force: true });
    }
  });

  it('no DockState frame and no /api/state answer carries a secret, a JWT or pairing details', async () => {
    const { frames } = await upgrade(`?token=${token}`, { origin: ORIGIN }, 2500);
    expect(frames.length).toBeGreaterThanOrEqual(1);
    const state = (await call('GET', '/api/state', { headers: bearer() })).body;
    const secrets = [...Object.values(SECRETS), token];
    for (const text of [...frames, state]) expect(findSecrets(text, secrets)).toEqual([]);
    for (const f of frames) {
      const msg = JSON.parse(f);
      if (msg.type !== 'state') continue;
      expect(msg.state.relay.pairing.revealed).toBe(false);
      expect(msg.state.relay.pairing.srt_url).toBeUndefined();
    }
  });
});
