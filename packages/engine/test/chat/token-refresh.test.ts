import { createLogger } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { KickStub } from '../../../../test/support/chat-stubs/kick-stub.js';
import { OAuthStub, type OAuthStubPlatform } from '../../../../test/support/chat-stubs/oauth-stub.js';
import { TwitchIrcStub } from '../../../../test/support/chat-stubs/twitch-irc-stub.js';
import { YouTubeApiStub } from '../../../../test/support/chat-stubs/youtube-stub.js';
import { chatAuthCheck, chatLogin, oauthEntryName, serializeTokenRecord } from '../../src/chat/auth/index.js';
import {
  type AdapterDeps,
  AuditLog,
  CHAT_DEFAULTS,
  ChatBridge,
  type ChatPlatformState,
  type IncomingChatMessage,
  KickAdapter,
  type Platform,
  TwitchAdapter,
  YouTubeAdapter,
} from '../../src/chat/index.js';
import { chatInput } from '../../src/control/engine-views.js';
import { FakeChatActions } from './fake-actions.js';

/**
 * Chat across several expiries of one-second access tokens issued by a token endpoint stub: each
 * platform's stub accepts only tokens that have not expired, so chat keeps working only if every
 * token is refreshed in time.
 */

const log = createLogger('token-refresh-test', { level: 'silent' });
const TTL_S = 1;
const EXPIRIES = 3;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const refreshes = (s: OAuthStub) => s.grants.filter((g) => g === 'refresh_token').length;

/** A token endpoint stub and a vault (a map) holding a fresh sign-in from it. */
async function signedIn(platform: Platform, secret: string | null, extra: Record<string, string> = {}) {
  const dialect: OAuthStubPlatform = platform === 'youtube' ? 'google' : platform;
  const oauth = await new OAuthStub({
    platform: dialect,
    clientId: 'cid',
    ...(secret ? { clientSecret: secret } : {}),
    accessTtlS: TTL_S,
    account: 'telemybot',
  }).start();
  cleanups.push(() => oauth.close());
  const record = await chatLogin({
    platform,
    config: { client_id: 'cid', auth_host: oauth.authHost, ...extra },
    clientSecret: secret,
    prompt: (p) => {
      if (p.kind === 'browser') void fetch(p.url).then((r) => r.text());
    },
    sleep: () => Promise.resolve(),
  });
  const secrets = new Map<string, string>([[oauthEntryName(platform), serializeTokenRecord(record)]]);
  if (secret) secrets.set(`chat_${platform}_client_secret`, secret);
  return { oauth, secrets };
}

class Harness {
  readonly messages: IncomingChatMessage[] = [];
  readonly states: ChatPlatformState[] = [];
  constructor(private readonly secrets: Map<string, string>) {}
  deps(): AdapterDeps {
    return {
      getSecret: async (k) => this.secrets.get(k) ?? null,
      setSecret: async (k, v) => void this.secrets.set(k, v),
      onMessage: (m) => this.messages.push(m),
      onState: (s) => this.states.push(s),
      log,
      reconnect: { baseMs: 20, maxMs: 200 },
    };
  }
}

const mod = { login: 'mod1', userId: '2', badges: 'moderator/1' };

describe('chat keeps working across several token expiries', () => {
  it('Twitch: every reconnect logs in with a live token', async () => {
    const { oauth, secrets } = await signedIn('twitch', null);
    const irc = await new TwitchIrcStub({
      accept: (t) => (oauth.valid(t) ? { login: 'telemybot', userId: '99' } : undefined),
    }).start();
    cleanups.push(() => irc.close());
    // twurple asks Twitch's validate endpoint for the bot's login; the IRC stub answers it.
    process.env.TWURPLE_MOCK_API_PORT = String(irc.httpPort);
    const h = new Harness(secrets);
    const a = new TwitchAdapter({ channel: 'streamer', host: irc.url, auth_host: oauth.authHost }, h.deps());
    cleanups.push(() => a.stop());
    await a.start();
    await until(() => a.state().connected, 'connected');
    for (let i = 1; i <= EXPIRIES; i++) {
      await until(() => refreshes(oauth) >= i, `refresh ${i}`);
      // The old connection outlives its token; the next one must log in with the new token.
      irc.dropAll();
      await until(() => !a.state().connected, 'drop seen');
      await until(() => a.state().connected, `reconnect ${i}`);
      irc.say('streamer', mod, `!status ${i}`);
      await until(() => h.messages.some((m) => m.text === `!status ${i}`), `message ${i}`);
      expect(await a.send(`reply ${i}`)).toBe(true);
      await irc.waitFor(() => irc.sent.some((s) => s.text === `reply ${i}`), 3000, `reply ${i}`);
    }
    const passes = irc.received.filter((l) => l.startsWith('PASS oauth:')).map((l) => l.slice(11));
    expect(new Set(passes).size).toBeGreaterThanOrEqual(EXPIRIES);
    expect(a.state().auth).toMatchObject({ kind: 'oauth', account: 'telemybot' });
  });

  it('Kick: replies go out with a live token after each expiry', async () => {
    const { oauth, secrets } = await signedIn('kick', 'ksecret');
    const kick = await new KickStub({
      channels: { streamer: { chatroomId: 777, userId: 4242 } },
      accept: (t) => oauth.valid(t),
    }).start();
    cleanups.push(() => kick.close());
    const h = new Harness(secrets);
    const a = new KickAdapter(
      {
        channel: 'streamer',
        host: kick.wsUrl,
        web_host: kick.httpUrl,
        api_host: kick.httpUrl,
        auth_host: oauth.authHost,
      },
      h.deps(),
    );
    cleanups.push(() => a.stop());
    await a.start();
    await until(() => a.state().connected, 'subscribed');
    expect(a.state().read_only).toBe(false);
    for (let i = 1; i <= EXPIRIES; i++) {
      await until(() => refreshes(oauth) >= i, `refresh ${i}`);
      expect(await a.send(`reply ${i}`)).toBe(true);
    }
    expect(kick.posted.map((p) => p.body.content)).toEqual(['reply 1', 'reply 2', 'reply 3']);
    expect(new Set(kick.posted.map((p) => p.authorization)).size).toBe(EXPIRIES);
  });

  it('YouTube: polling and replies never meet a rejected token', async () => {
    const { oauth, secrets } = await signedIn('youtube', 'gsecret');
    const yt = await new YouTubeApiStub({ accept: (t) => oauth.valid(t), pollingIntervalMillis: 50 }).start();
    cleanups.push(() => yt.close());
    const h = new Harness(secrets);
    const a = new YouTubeAdapter(
      { channel: 'Streamer', host: yt.url, quota_per_day: 100_000_000, auth_host: oauth.authHost },
      h.deps(),
    );
    cleanups.push(() => a.stop());
    await a.start();
    await until(() => a.state().connected, 'reading chat');
    await until(() => refreshes(oauth) >= EXPIRIES, `${EXPIRIES} refreshes`);
    expect(await a.send('still here')).toBe(true);
    expect(yt.inserted.map((m) => m.text)).toEqual(['still here']);
    expect(a.state()).toMatchObject({ connected: true, reconnects: 0 });
    const bearers = new Set(yt.requests.map((r) => r.authorization));
    expect(bearers.size).toBeGreaterThanOrEqual(EXPIRIES);
  });
});

describe('a revoked refresh token', () => {
  it('is one event, a "sign in again" state and a failing doctor line', async () => {
    const { oauth, secrets } = await signedIn('kick', 'ksecret');
    const kick = await new KickStub({
      channels: { streamer: { chatroomId: 777, userId: 4242 } },
      accept: (t) => oauth.valid(t),
    }).start();
    cleanups.push(() => kick.close());
    const events: Array<{ platform: Platform; text: string }> = [];
    const bridge = new ChatBridge({
      config: {
        ...CHAT_DEFAULTS,
        kick: {
          channel: 'streamer',
          host: kick.wsUrl,
          web_host: kick.httpUrl,
          api_host: kick.httpUrl,
          auth_host: oauth.authHost,
        },
      },
      actions: new FakeChatActions(),
      getSecret: async (k) => secrets.get(k) ?? null,
      setSecret: async (k, v) => void secrets.set(k, v),
      onAuthRevoked: (platform, text) => events.push({ platform, text }),
      audit: new AuditLog(),
      log,
      reconnect: { baseMs: 20, maxMs: 200 },
    });
    cleanups.push(() => bridge.stop());
    await bridge.start();
    await until(() => bridge.states()[0]?.connected === true, 'connected');
    oauth.revokeAll();
    await until(() => bridge.states()[0]?.auth?.kind === 'revoked', 'revoked');
    // Replies stop (no token to send with), and nothing asks the platform again.
    expect(await bridge.announce('x')).toEqual([]);
    const grants = oauth.grants.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(oauth.grants.length).toBe(grants);
    expect(events).toHaveLength(1);
    // The dock's row: the badge "Kick: sign in again" shows for auth 'revoked'.
    expect(chatInput(bridge.states())?.platforms[0]).toMatchObject({ platform: 'kick', auth: 'revoked' });
    expect(events[0]?.text).toMatch(
      /^chat kick: sign in again — the refresh token was refused .*telemy chat login kick/,
    );
    const line = chatAuthCheck(
      'kick',
      { channel: 'streamer' },
      { oauth: secrets.get('chat_kick_oauth') ?? null, pasted: false },
      Date.now(),
    );
    expect(line.level).toBe('FAIL');
    expect(line.detail).toMatch(/kick refused the sign-in .* sign in again: `telemy chat login kick`/);
  });
});
