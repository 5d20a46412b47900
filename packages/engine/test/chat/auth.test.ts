import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { KickStub } from '../../../../test/support/chat-stubs/kick-stub.js';
import { OAuthStub, type OAuthStubPlatform } from '../../../../test/support/chat-stubs/oauth-stub.js';
import { YouTubeApiStub } from '../../../../test/support/chat-stubs/youtube-stub.js';
import {
  chatAuthCheck,
  chatLogin,
  classifyRefreshFailure,
  type LoginPrompt,
  msUntilRefresh,
  oauthEntryName,
  parseTokenRecord,
  recordFromTokenResponse,
  refreshDueAt,
  refreshRetryMs,
  serializeTokenRecord,
  type TokenRecord,
  TokenSource,
} from '../../src/chat/auth/index.js';
import type { Platform } from '../../src/chat/config.js';
import { Vault } from '../../src/vault/index.js';

const silent = createLogger('auth-test', { level: 'silent' });
const noWait = () => Promise.resolve();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function oauthStub(
  platform: OAuthStubPlatform,
  accessTtlS: number,
  secret?: string,
): Promise<OAuthStub> {
  const s = await new OAuthStub({
    platform,
    clientId: 'cid',
    ...(secret ? { clientSecret: secret } : {}),
    accessTtlS,
    account: 'telemybot',
  }).start();
  cleanups.push(() => s.close());
  return s;
}

async function until(pred: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Log lines as text, to check that no token ever reaches them. */
function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    log: createLogger('auth-test', { level: 'debug', destination: sink }),
    text: () => lines.join(''),
  };
}

function record(over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    version: 1,
    client_id: 'cid',
    access_token: 'at-x',
    refresh_token: 'rt-x',
    obtained_at_ms: 0,
    expires_at_ms: 3_600_000,
    scopes: ['chat:read'],
    account: 'telemybot',
    revoked_at_ms: null,
    ...over,
  };
}

describe('token lifetime rule', () => {
  it('refreshes a minute before expiry, or at 80 % of a short lifetime', () => {
    expect(refreshDueAt(0, 3_600_000)).toBe(3_540_000);
    expect(refreshDueAt(0, 4 * 3_600_000)).toBe(4 * 3_600_000 - 60_000);
    expect(refreshDueAt(1000, 3000)).toBe(2600);
    expect(refreshDueAt(0, 300_000)).toBe(240_000);
    expect(msUntilRefresh(0, 3_600_000, 3_000_000)).toBe(540_000);
    expect(msUntilRefresh(0, 3_600_000, 3_600_001)).toBe(0);
  });

  it('tells a revoked refresh token from a passing failure and a refused client', () => {
    expect(classifyRefreshFailure(400, { error: 'invalid_grant' })).toBe('revoked');
    expect(classifyRefreshFailure(400, { status: 400, message: 'Invalid refresh token' })).toBe('revoked');
    expect(classifyRefreshFailure(401, { error: 'invalid_client' })).toBe('client');
    expect(classifyRefreshFailure(null, null)).toBe('transient');
    expect(classifyRefreshFailure(503, null)).toBe('transient');
    expect(classifyRefreshFailure(429, { error: 'rate' })).toBe('transient');
  });

  it('retries a passing failure with capped backoff', () => {
    const fixed = () => 0;
    expect([0, 1, 2, 10].map((a) => refreshRetryMs(a, fixed))).toEqual([500, 1000, 2000, 30_000]);
  });
});

describe('token record', () => {
  it('reads scopes in both dialects and keeps the refresh token Google does not resend', () => {
    const twitch = recordFromTokenResponse(
      { access_token: 'a1', refresh_token: 'r1', expires_in: 60, scope: ['chat:read', 'chat:edit'] },
      'cid',
      1000,
      null,
    );
    expect(twitch).toMatchObject({
      scopes: ['chat:read', 'chat:edit'],
      expires_at_ms: 61_000,
      refresh_token: 'r1',
    });
    const google = recordFromTokenResponse(
      { access_token: 'a2', expires_in: 10, scope: 'x y' },
      'cid',
      5000,
      twitch,
    );
    expect(google).toMatchObject({
      access_token: 'a2',
      refresh_token: 'r1',
      scopes: ['x', 'y'],
      expires_at_ms: 15_000,
    });
    expect(parseTokenRecord(serializeTokenRecord(google))).toEqual(google);
    expect(parseTokenRecord('oauth:pasted')).toBeNull();
    expect(() => recordFromTokenResponse({ error: 'x' }, 'cid', 0, null)).toThrow(/access_token/);
  });
});

describe('doctor line', () => {
  const section = { channel: 'streamer', token_key: 'tw' };
  it('shows account, scopes and lifetime of a sign-in', () => {
    const c = chatAuthCheck(
      'twitch',
      section,
      { oauth: serializeTokenRecord(record()), pasted: false },
      600_000,
    );
    expect(c.level).toBe('ok');
    expect(c.detail).toContain('signed in as telemybot');
    expect(c.detail).toContain('scopes chat:read');
    expect(c.detail).toContain('token lifetime 1h, expires in 50m');
  });
  it('fails a revoked sign-in with what to run, and warns about a pasted token', () => {
    const revoked = serializeTokenRecord(record({ revoked_at_ms: 1000 }));
    const c = chatAuthCheck('twitch', section, { oauth: revoked, pasted: true }, 2000);
    expect(c).toMatchObject({ level: 'FAIL', what: 'chat twitch' });
    expect(c.detail).toMatch(/sign in again: `telemy chat login twitch`/);
    const p = chatAuthCheck('kick', section, { oauth: null, pasted: true }, 0);
    expect(p.level).toBe('warn');
    expect(p.detail).toMatch(/cannot be refreshed/);
  });
});

describe('sign-in flows against the token endpoint stubs', () => {
  async function vault(): Promise<Vault> {
    const dir = mkdtempSync(path.join(tmpdir(), 'telemy-auth-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return Vault.open(dir, { keyring: null });
  }

  async function login(
    platform: Platform,
    stub: OAuthStub,
    extra: Record<string, string>,
    secret: string | null,
  ) {
    const prompts: LoginPrompt[] = [];
    const r = await chatLogin({
      platform,
      config: { client_id: 'cid', auth_host: stub.authHost, ...extra },
      clientSecret: secret,
      prompt: (p) => {
        prompts.push(p);
        // Kick: the test is the browser: the stub's authorize page redirects to our loopback listener.
        if (p.kind === 'browser') void fetch(p.url).then((res) => res.text());
      },
      sleep: noWait,
    });
    return { r, prompts };
  }

  it('Twitch device code: the user code is shown, the poll waits for approval, the vault holds the tokens', async () => {
    const stub = await oauthStub('twitch', 3600);
    const { r, prompts } = await login('twitch', stub, {}, null);
    expect(prompts).toEqual([
      { kind: 'device', url: `${stub.url}/activate`, code: 'ABCD-EFGH', expires_in_s: 600 },
    ]);
    expect(stub.grants).toEqual([
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:ietf:params:oauth:grant-type:device_code',
    ]);
    expect(r).toMatchObject({ account: 'telemybot', scopes: ['chat:read', 'chat:edit'], client_id: 'cid' });
    expect(stub.valid(r.access_token)).toBe(true);
    const v = await vault();
    v.set(oauthEntryName('twitch'), serializeTokenRecord(r));
    const file = readFileSync(v.file, 'utf8');
    expect(parseTokenRecord(v.get('chat_twitch_oauth'))).toEqual(r);
    expect(file).not.toContain(r.access_token);
    expect(file).not.toContain(r.refresh_token);
  });

  it('Google device code with the client secret; the account is the YouTube channel', async () => {
    const stub = await oauthStub('google', 3600, 'gsecret');
    const yt = await new YouTubeApiStub({ accept: (t) => stub.valid(t) }).start();
    cleanups.push(() => yt.close());
    const { r } = await login('youtube', stub, { host: yt.url }, 'gsecret');
    expect(r).toMatchObject({ account: 'Stub Channel', scopes: ['https://www.googleapis.com/auth/youtube'] });
    expect(r.refresh_token).toMatch(/^rt-/);
  });

  it('Kick authorization code with PKCE through a one-shot loopback listener', async () => {
    const stub = await oauthStub('kick', 7200, 'ksecret');
    const kick = await new KickStub({ accept: (t) => stub.valid(t) }).start();
    cleanups.push(() => kick.close());
    const { r, prompts } = await login('kick', stub, { api_host: kick.httpUrl }, 'ksecret');
    const prompt = prompts[0];
    expect(prompt?.kind).toBe('browser');
    const authorize = new URL(prompt?.url ?? '');
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: 'cid',
      scope: 'user:read chat:write',
      code_challenge_method: 'S256',
    });
    expect(stub.grants).toEqual(['authorization_code']);
    expect(r).toMatchObject({ account: 'telemybot', scopes: ['user:read', 'chat:write'] });
    // One-shot: the listener is gone once the code arrived.
    const redirect = prompt?.kind === 'browser' ? prompt.redirect_uri : '';
    await expect(fetch(redirect)).rejects.toThrow();
  });

  it('refuses to start without a client id, naming the config key', async () => {
    await expect(
      chatLogin({ platform: 'twitch', config: {}, clientSecret: null, prompt: () => {} }),
    ).rejects.toThrow(/\[chat\.twitch\] client_id/);
  });
});

describe('TokenSource against a token endpoint stub', () => {
  async function signedIn(platform: OAuthStubPlatform, ttlS: number, secret?: string) {
    const stub = await oauthStub(platform, ttlS, secret);
    const p: Platform = platform === 'google' ? 'youtube' : platform;
    const first = await chatLogin({
      platform: p,
      config: { client_id: 'cid', auth_host: stub.authHost },
      clientSecret: secret ?? null,
      prompt: (x) => {
        if (x.kind === 'browser') void fetch(x.url).then((res) => res.text());
      },
      sleep: noWait,
    });
    const secrets = new Map<string, string>([[oauthEntryName(p), serializeTokenRecord(first)]]);
    if (secret) secrets.set(`chat_${p}_client_secret`, secret);
    return { stub, p, first, secrets };
  }

  it('refreshes on its own before each expiry, saves every new token and never logs one', async () => {
    const { stub, p, secrets } = await signedIn('twitch', 1);
    const { log, text } = capturedLog();
    const src = new TokenSource({
      platform: p,
      config: { auth_host: stub.authHost },
      getSecret: async (k) => secrets.get(k) ?? null,
      setSecret: async (k, v) => void secrets.set(k, v),
      log,
    });
    cleanups.push(() => src.stop());
    src.start();
    expect(stub.valid((await src.accessToken()) ?? '')).toBe(true);
    // Three expiries of a one-second token: each one refreshed before it ran out.
    await until(() => stub.grants.filter((g) => g === 'refresh_token').length >= 3, 'three refreshes');
    const current = await src.accessToken();
    expect(stub.valid(current ?? '')).toBe(true);
    expect(parseTokenRecord(secrets.get('chat_twitch_oauth') ?? null)?.access_token).toBe(current);
    expect(src.status()).toMatchObject({ kind: 'oauth', account: 'telemybot', problem: null });
    const logged = text();
    expect(logged).toContain('access token refreshed');
    for (const t of stub.issued()) expect(logged).not.toContain(t);
  });

  it('a refused refresh token ends in revoked, saved for the doctor, without retries', async () => {
    const { stub, p, secrets } = await signedIn('kick', 1, 'ksecret');
    const changes: string[] = [];
    const src = new TokenSource({
      platform: p,
      config: { auth_host: stub.authHost },
      getSecret: async (k) => secrets.get(k) ?? null,
      setSecret: async (k, v) => void secrets.set(k, v),
      log: silent,
      onChange: (s) => changes.push(s.kind),
    });
    cleanups.push(() => src.stop());
    await src.accessToken();
    stub.revokeAll();
    await until(() => src.status().kind === 'revoked', 'revoked');
    expect(await src.accessToken()).toBeNull();
    expect(src.status().problem).toMatch(/refresh token was refused \(HTTP 400 invalid_grant\)/);
    const saved = parseTokenRecord(secrets.get('chat_kick_oauth') ?? null);
    expect(saved?.revoked_at_ms).not.toBeNull();
    const grants = stub.grants.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(stub.grants.length).toBe(grants);
    expect(changes.filter((k) => k === 'revoked')).toHaveLength(1);
    expect(
      chatAuthCheck(
        'kick',
        { channel: 'streamer' },
        { oauth: secrets.get('chat_kick_oauth') ?? null, pasted: false },
        Date.now(),
      ).level,
    ).toBe('FAIL');
  });

  it('a token endpoint that fails for a while is retried with backoff, also when callers ask', async () => {
    let requests = 0;
    const down = http.createServer((_req, res) => {
      requests++;
      res.writeHead(503).end();
    });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => down.close(() => r())));
    const host = `http://127.0.0.1:${(down.address() as AddressInfo).port}/oauth2`;
    let clock = 10_000;
    const src = new TokenSource({
      platform: 'twitch',
      config: { auth_host: host },
      getSecret: async (k) =>
        k === oauthEntryName('twitch')
          ? serializeTokenRecord(record({ obtained_at_ms: 0, expires_at_ms: 5000 }))
          : null,
      now: () => clock,
      random: () => 0,
      log: silent,
    });
    expect(await src.accessToken()).toBe('at-x');
    expect(requests).toBe(1);
    // The retry timer is not what is tested here: only the callers' side of the backoff.
    src.stop();
    expect(src.status()).toMatchObject({
      kind: 'oauth',
      problem: expect.stringMatching(/HTTP 503.*retrying/),
    });
    await src.accessToken();
    await src.rejected();
    expect(requests).toBe(1);
    clock += 500;
    await src.accessToken();
    expect(requests).toBe(2);
  });

  it('a pasted token is used as it is, and said to be unrefreshable', async () => {
    const { log, text } = capturedLog();
    const src = new TokenSource({
      platform: 'twitch',
      config: { token_key: 'tw' },
      getSecret: async (k) => (k === 'tw' ? 'pasted-token-123' : null),
      log,
    });
    expect(await src.accessToken()).toBe('pasted-token-123');
    expect(await src.rejected()).toBe('pasted-token-123');
    expect(src.status().kind).toBe('pasted');
    expect(text()).toMatch(/cannot be refreshed/);
    expect(text()).not.toContain('pasted-token-123');
  });
});
