import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { ensureDockBuilt } from '@telemy/dock';
import { Vault } from '@telemy/engine/vault';
import { productVersion } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { launchTelemy, toml, writeEngineConfig } from '../support/engine-run.js';
import { childPids, cmdline, running } from '../support/procs.js';
import { findSecrets } from '../support/secret-scan.js';
import {
  eventually,
  newTelemyHome,
  QUICK_RELAY_ENV,
  type TelemyProcess,
  telemySync,
} from '../support/telemy-process.js';

/**
 * The local server's security rules (docs/reference/dock-state.md) against the real `telemy engine`
 * (cloud off, no OBS listening): loopback-only binding, token on every route and the WebSocket, Host
 * check, Origin check on state changes and upgrades, CSP, and no secret in any DockState frame or in
 * `/api/state`.
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

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** The engine ended the connection within the wait. */
  closed: boolean;
}

/**
 * Writes `text` to a plain TCP connection and reads until the engine ends it or `waitMs` passes
 * (then the client hangs up). Raw, for the requests an HTTP client will not send.
 */
function rawExchange(port: number, text: string, waitMs = 2000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const split = got.indexOf('\r\n\r\n');
      resolve({
        status: Number(got.split(' ')[1] ?? 0),
        headers: split >= 0 ? got.slice(0, split) : got,
        body: split >= 0 ? got.slice(split + 4) : '',
        closed,
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
    });
    socket.once('end', () => finish(true));
    socket.on('error', (err) => {
      if (got === '') reject(err);
    });
  });
}

function upgradeText(host: string, path: string, headers: Record<string, string> = {}): string {
  return `${[
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n')}\r\n\r\n`;
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** `{error: {code, message, request_id}}` with the id also in X-Request-Id. */
function expectEnvelope(a: RawAnswer, status: number, code: string): void {
  expect(a.status, a.body).toBe(status);
  const body = JSON.parse(a.body);
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(a.headers.toLowerCase()).toContain(`x-request-id: ${body.error.request_id}`);
}

beforeAll(async () => {
  await ensureDockBuilt();
  home = newTelemyHome();
  writeEngineConfig(home, { obsPort: NO_OBS_PORT, enginePort: ENGINE_PORT }, toml.cloudOff);
  // In-process (a key file, as on these machines): `telemy vault set` is covered elsewhere and costs a CLI start per key.
  const vault = await Vault.open(home, { keyring: null });
  for (const [key, value] of Object.entries(SECRETS)) vault.set(key, value);
  ({ telemy: engine, token } = await launchTelemy('engine', { home }));
});

afterAll(async () => {
  await engine?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('local server security', () => {
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

  it('/healthz answers without the token and says nothing more than ok and the version', async () => {
    const r = await call('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok', version: productVersion() });
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
      writeEngineConfig(
        lan,
        { obsPort: NO_OBS_PORT, enginePort: LAN_PORT, engineHost: '0.0.0.0' },
        toml.cloudOff,
      );
      const r = telemySync(['engine', '--config', `${lan}/config.toml`], { home: lan });
      expect(r.status).not.toBe(0);
      expect(r.status).not.toBeNull();
      expect(r.stderr).toMatch(/lan_access = true/);
    } finally {
      rmSync(lan, { recursive: true, force: true });
    }
  });

  it("closes every refused upgrade at once: 1,000 leave the engine's file descriptors flat", async () => {
    const pid = engine.proc.pid as number;
    const kinds: { headers: Record<string, string>; query: string; status: number }[] = [
      { headers: { origin: 'http://evil.example' }, query: `?token=${token}`, status: 403 },
      { headers: {}, query: '', status: 401 },
      { headers: { origin: 'https://attacker.example' }, query: '', status: 403 },
      { headers: {}, query: '?token=not-the-token', status: 401 },
    ];
    const one = async (i: number) => {
      const k = kinds[i % kinds.length] as (typeof kinds)[number];
      const a = await rawExchange(ENGINE_PORT, upgradeText(HOST, `/ws${k.query}`, k.headers), 3000);
      expect(a.status).toBe(k.status);
      expect(a.closed, `refused upgrade ${i} (${k.status}) left open by the engine`).toBe(true);
    };
    for (let i = 0; i < 20; i++) await one(i);
    const before = fdCount(pid);
    const TOTAL = 1000;
    const PARALLEL = 20;
    for (let i = 0; i < TOTAL; i += PARALLEL) {
      await Promise.all(Array.from({ length: Math.min(PARALLEL, TOTAL - i) }, (_, j) => one(i + j)));
    }
    // Small slack: the engine opens a socket now and then to look for OBS.
    await eventually(() => fdCount(pid) <= before + 5, 5000).catch(() => undefined);
    expect(fdCount(pid) - before).toBeLessThanOrEqual(5);
    expect((await call('GET', '/healthz')).status).toBe(200);
  }, 120_000);

  it('answers parser and URL errors with the envelope and a request id, never echoing the token', async () => {
    const get = (path: string, headers: string[] = []) =>
      [`GET ${path} HTTP/1.1`, `Host: ${HOST}`, ...headers, 'Connection: close', '', ''].join('\r\n');
    const big = await rawExchange(ENGINE_PORT, get('/api/state', [`X-Big: ${'a'.repeat(20_000)}`]));
    expectEnvelope(big, 431, 'headers_too_large');
    expect(big.closed).toBe(true);

    const smuggle = [
      'POST /api/intent HTTP/1.1',
      `Host: ${HOST}`,
      `Authorization: Bearer ${token}`,
      'Content-Type: application/json',
      'Content-Length: 4',
      'Transfer-Encoding: chunked',
      '',
      '0',
      '',
      '',
    ].join('\r\n');
    const smuggled = await rawExchange(ENGINE_PORT, smuggle);
    expectEnvelope(smuggled, 400, 'invalid_request');
    expect(smuggled.closed).toBe(true);

    const badUrl = await rawExchange(ENGINE_PORT, get(`/%zz?token=${token}`));
    expectEnvelope(badUrl, 400, 'invalid_request');
    expect(badUrl.body).not.toContain(token);

    const badCookie = await rawExchange(ENGINE_PORT, get('/api/state', ['Cookie: telemy_token=%E0%A4%A']));
    expectEnvelope(badCookie, 401, 'unauthorized');

    const notFound = await rawExchange(ENGINE_PORT, get(`/nowhere?token=${token}`));
    expectEnvelope(notFound, 404, 'not_found');
    expect(notFound.body).not.toContain(token);
    expect(engine.stderr()).not.toContain(token);
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

/**
 * The same scan with the embedded control plane and a real local relay session, where pairing
 * details, the CloudLink JWT and the control plane's signing secret exist: nothing of them in
 * DockState until `reveal_pairing`, and the revealed frame shows that the scan does detect them.
 */
describe('DockState with a live relay session (embedded cloud)', () => {
  const PORT = 7214;
  let irlHome: string;
  let irl: TelemyProcess;
  let irlToken: string;
  let ws: WebSocket;
  const states: { raw: string; state: { relay: { pairing: Record<string, unknown> } } }[] = [];
  const results = new Map<string, { status: string; reason?: string }>();
  let seq = 0;

  const act = async (action: Record<string, unknown>, timeoutMs = 60_000) => {
    const id = `sec-${++seq}`;
    ws.send(JSON.stringify({ type: 'action', action: { ...action, action_id: id } }));
    const { value } = await eventually(() => {
      const r = results.get(id);
      return r && r.status !== 'accepted' ? r : null;
    }, timeoutMs);
    return value;
  };

  beforeAll(async () => {
    irlHome = newTelemyHome();
    writeEngineConfig(irlHome, { obsPort: NO_OBS_PORT, enginePort: PORT }, toml.cloudEmbedded);
    // cloud_api_key is made by the engine for its embedded control plane; every vault entry is scanned.
    const vault = await Vault.open(irlHome, { keyring: null });
    vault.set('obs_password', SECRETS.obs_password);
    vault.set('twitch_token', SECRETS.twitch_token);
    ({ telemy: irl, token: irlToken } = await launchTelemy('engine', {
      home: irlHome,
      env: QUICK_RELAY_ENV,
      timeoutMs: 90_000,
    }));
    ws = new WebSocket(`ws://127.0.0.1:${PORT}/ws?token=${irlToken}`, {
      headers: { origin: `http://127.0.0.1:${PORT}` },
    });
    ws.on('message', (d) => {
      const raw = d.toString();
      const msg = JSON.parse(raw);
      if (msg.type === 'state') states.push({ raw, state: msg.state });
      if (msg.type === 'action_result') results.set(msg.action_id, msg);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
  }, 180_000);

  afterAll(async () => {
    ws?.close();
    await irl?.stop();
    // A relay left behind by a failed assertion: stop its whole process group.
    try {
      const relays = JSON.parse(readFileSync(`${irlHome}/relays/local-relays.json`, 'utf8')) as {
        pid: number;
      }[];
      for (const r of relays) {
        try {
          process.kill(-r.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    } catch {
      // No relay was ever started.
    }
    if (irlHome) rmSync(irlHome, { recursive: true, force: true });
  });

  it('pairing details appear only after reveal_pairing; no secret or JWT in any frame', async () => {
    // The embedded control plane (a child process) starts, and the engine makes its API key, on this first relay_start.
    let last: { status: string; reason?: string } | null = null;
    await eventually(
      async () => {
        last = await act({ type: 'relay_start' }, 120_000);
        return last.status === 'completed';
      },
      120_000,
      1000,
    ).catch((err: Error) => {
      throw new Error(`relay_start never completed: ${JSON.stringify(last)}`, { cause: err });
    });
    await eventually(() => states.at(-1)?.state.relay.pairing.available === true, 120_000, 100);
    await new Promise((r) => setTimeout(r, 1500));

    const vault = await Vault.open(irlHome, { keyring: null });
    const secrets = [irlToken, ...vault.list().map((key) => vault.get(key) ?? '')];
    expect(vault.list()).toEqual(expect.arrayContaining(['local_access_token', 'cloud_api_key']));
    const hidden = states.length;
    for (const s of states) expect(findSecrets(s.raw, secrets)).toEqual([]);
    const state = await fetch(`http://127.0.0.1:${PORT}/api/state`, {
      headers: { authorization: `Bearer ${irlToken}` },
    });
    expect(findSecrets(await state.text(), secrets)).toEqual([]);

    expect(await act({ type: 'reveal_pairing', reveal: true })).toMatchObject({ status: 'completed' });
    const { value: revealed } = await eventually(
      () => states.slice(hidden).find((s) => s.state.relay.pairing.revealed === true),
      10_000,
    );
    expect(String(revealed.state.relay.pairing.srt_url)).toMatch(/^srt:\/\//);
    expect(findSecrets(revealed.raw, [])).not.toEqual([]);

    expect(await act({ type: 'reveal_pairing', reveal: false })).toMatchObject({ status: 'completed' });
    await eventually(() => states.at(-1)?.state.relay.pairing.revealed === false, 10_000);
    expect(await act({ type: 'relay_stop' }, 60_000)).toMatchObject({ status: 'completed' });
  }, 300_000);

  it('SIGTERM ends the engine within 3 s after refused upgrades, with the embedded cloud running', async () => {
    const pid = irl.proc.pid as number;
    // The condition of the report: the control plane child is up (the relay start above started it).
    const controlPlanes = () => childPids(pid).filter((p) => cmdline(p).includes('control-plane'));
    if (controlPlanes().length === 0) await act({ type: 'relay_start' }, 120_000);
    await eventually(() => controlPlanes().length === 1, 60_000, 200);
    const cp = controlPlanes();
    expect(cp).toHaveLength(1);
    // Refusals whose clients never hang up, and ones that do.
    const host = `127.0.0.1:${PORT}`;
    const lingering: ReturnType<typeof connect>[] = [];
    for (const headers of [{ origin: 'http://evil.example' }, {}] as Record<string, string>[]) {
      const s = connect(PORT, '127.0.0.1');
      s.on('error', () => {});
      s.write(upgradeText(host, '/ws', headers));
      await new Promise((r) => s.once('data', r));
      lingering.push(s);
    }
    const closed: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const headers: Record<string, string> = i % 2 ? { origin: 'http://evil.example' } : {};
      closed.push((await rawExchange(PORT, upgradeText(host, '/ws', headers))).closed);
    }
    ws.close();
    const exited = new Promise<number | null>((resolve) => irl.proc.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    irl.proc.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000)),
    ]);
    const took = Date.now() - t0;
    for (const s of lingering) s.destroy();
    expect(code).toBe(0);
    expect(took).toBeLessThan(3000);
    await eventually(() => !running(cp[0] as number), 5000);
    expect(closed.every(Boolean), 'every refused upgrade closed by the engine').toBe(true);
  }, 300_000);
});
