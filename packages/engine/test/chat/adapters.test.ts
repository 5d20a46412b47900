import { createLogger } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { KickStub } from '../../../../test/support/chat-stubs/kick-stub.js';
import { TwitchIrcStub } from '../../../../test/support/chat-stubs/twitch-irc-stub.js';
import { YouTubeApiStub } from '../../../../test/support/chat-stubs/youtube-stub.js';
import {
  type AdapterDeps,
  type ChatAdapter,
  type ChatPlatformState,
  type IncomingChatMessage,
  KickAdapter,
  TwitchAdapter,
  YouTubeAdapter,
} from '../../src/chat/index.js';

const log = createLogger('chat-test', { level: 'silent' });
const FAST = { baseMs: 20, maxMs: 200 };

class Harness {
  readonly messages: IncomingChatMessage[] = [];
  readonly states: ChatPlatformState[] = [];
  deps(secrets: Record<string, string>): AdapterDeps {
    return {
      getSecret: async (k) => secrets[k] ?? null,
      onMessage: (m) => this.messages.push(m),
      onState: (s) => this.states.push(s),
      log,
      reconnect: FAST,
    };
  }
}

async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});
function started<T extends ChatAdapter>(a: T): T {
  cleanups.push(() => a.stop());
  return a;
}

describe('Twitch adapter against the IRC stub', () => {
  async function stub(): Promise<TwitchIrcStub> {
    const s = await new TwitchIrcStub({ tokens: { tok123: { login: 'telemybot', userId: '99' } } }).start();
    process.env.TWURPLE_MOCK_API_PORT = String(s.httpPort);
    cleanups.push(() => s.close());
    return s;
  }

  it('logs in with tags, joins, reads badges and replies through the same connection', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(
      new TwitchAdapter({ channel: 'Streamer', token_key: 'tw', host: s.url }, h.deps({ tw: 'tok123' })),
    );
    await a.start();
    await until(() => a.state().connected, 'twitch connected');
    expect(a.state()).toMatchObject({ connected: true, channel: 'streamer', read_only: false, note: null });
    expect(s.received).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^CAP REQ :.*twitch\.tv\/tags/),
        'PASS oauth:tok123',
        'NICK telemybot',
        'JOIN #streamer',
      ]),
    );

    const who = [
      { login: 'streamer', userId: '1', badges: 'broadcaster/1', displayName: 'Streamer' },
      { login: 'mod1', userId: '2', badges: 'moderator/1,subscriber/3' },
      { login: 'vip1', userId: '3', badges: 'vip/1' },
      { login: 'viewer', userId: '4', badges: '' },
    ];
    for (const c of who) s.say('streamer', c, `!status from ${c.login}`);
    await until(() => h.messages.length === 4, 'four messages');
    expect(h.messages.map((m) => [m.user_name, m.user_id, m.flags])).toEqual([
      ['streamer', '1', { broadcaster: true, moderator: false, vip: false }],
      ['mod1', '2', { broadcaster: false, moderator: true, vip: false }],
      ['vip1', '3', { broadcaster: false, moderator: false, vip: true }],
      ['viewer', '4', { broadcaster: false, moderator: false, vip: false }],
    ]);
    expect(h.messages[0]).toMatchObject({
      platform: 'twitch',
      display_name: 'Streamer',
      text: '!status from streamer',
    });

    expect(await a.send('hello chat')).toBe(true);
    await s.waitFor(() => s.sent.length === 1, 3000, 'reply');
    expect(s.sent[0]).toEqual({ nick: 'telemybot', channel: 'streamer', text: 'hello chat' });
  });

  it('reads anonymously without a token and says it is read-only', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new TwitchAdapter({ channel: 'streamer', host: s.url }, h.deps({})));
    await a.start();
    await until(() => a.state().connected, 'anonymous connect');
    expect(a.state()).toMatchObject({ read_only: true, note: expect.stringMatching(/read-only/) });
    s.say('streamer', { login: 'mod1', userId: '2', badges: 'moderator/1' }, '!brb');
    await until(() => h.messages.length === 1, 'message');
    expect(await a.send('nope')).toBe(false);
    expect(s.sent).toEqual([]);
  });

  it('reconnects on its own after the server drops the connection', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(
      new TwitchAdapter({ channel: 'streamer', token_key: 'tw', host: s.url }, h.deps({ tw: 'tok123' })),
    );
    await a.start();
    await until(() => a.state().connected, 'connect');
    s.dropAll();
    await until(() => !a.state().connected, 'disconnect seen');
    await until(() => a.state().connected && s.joinedChannels().includes('streamer'), 'reconnect', 8000);
    expect(a.state().reconnects).toBeGreaterThanOrEqual(1);
    s.say('streamer', { login: 'mod1', userId: '2', badges: 'moderator/1' }, '!live');
    await until(() => h.messages.some((m) => m.text === '!live'), 'message after reconnect');
  });

  it('keeps retrying while the server refuses the token', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(
      new TwitchAdapter({ channel: 'streamer', token_key: 'tw', host: s.url }, h.deps({ tw: 'wrong' })),
    );
    await a.start();
    await until(() => a.state().reconnects >= 2, 'repeated retries after refusal', 8000);
    expect(a.state()).toMatchObject({ connected: false, note: expect.stringMatching(/token rejected/) });
  });
});

describe('Kick adapter against the Pusher stub', () => {
  async function stub(): Promise<KickStub> {
    const s = await new KickStub({
      channels: { streamer: { chatroomId: 777, userId: 4242 } },
      tokens: ['kicktok'],
    }).start();
    cleanups.push(() => s.close());
    return s;
  }
  const cfg = (s: KickStub, token = true) => ({
    channel: 'streamer',
    host: s.wsUrl,
    web_host: s.httpUrl,
    api_host: s.httpUrl,
    ...(token ? { token_key: 'kick' } : {}),
  });

  it('looks up the chatroom, subscribes, reads badges and replies through the public API', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new KickAdapter(cfg(s), h.deps({ kick: 'kicktok' })));
    await a.start();
    await until(() => a.state().connected, 'kick connected');
    expect(s.subscribedChannels()).toEqual(['chatrooms.777.v2']);
    expect(a.state()).toMatchObject({ read_only: false, note: null });

    s.say(777, { id: 1, username: 'Streamer', badges: ['broadcaster'] }, '!live');
    s.say(777, { id: 2, username: 'Mod1', badges: ['moderator', 'subscriber'] }, '!brb');
    s.say(777, { id: 3, username: 'vip1', badges: ['vip'] }, 'hi');
    s.say(777, { id: 4, username: 'viewer', badges: [] }, '!stop');
    await until(() => h.messages.length === 4, 'four kick messages');
    expect(h.messages.map((m) => [m.user_name, m.user_id, m.flags])).toEqual([
      ['streamer', '1', { broadcaster: true, moderator: false, vip: false }],
      ['mod1', '2', { broadcaster: false, moderator: true, vip: false }],
      ['vip1', '3', { broadcaster: false, moderator: false, vip: true }],
      ['viewer', '4', { broadcaster: false, moderator: false, vip: false }],
    ]);

    expect(await a.send('on it')).toBe(true);
    expect(s.posted).toEqual([
      {
        authorization: 'Bearer kicktok',
        body: { broadcaster_user_id: 4242, content: 'on it', type: 'user' },
      },
    ]);
  });

  it('answers pusher:ping and ignores malformed frames', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new KickAdapter(cfg(s), h.deps({ kick: 'kicktok' })));
    await a.start();
    await until(() => a.state().connected, 'connected');
    s.ping();
    await s.waitFor(() => s.received.some((r) => r.event === 'pusher:pong'), 2000, 'pong');
    const ch = 'chatrooms.777.v2';
    s.sendRaw(ch, 'not json');
    s.sendRaw(ch, JSON.stringify({ event: 'App\\Events\\ChatMessageEvent', channel: ch, data: '{broken' }));
    s.sendRaw(
      ch,
      JSON.stringify({ event: 'App\\Events\\ChatMessageEvent', channel: ch, data: '{"content":"!brb"}' }),
    );
    s.say(777, { id: 9, username: 'after', badges: [] }, 'still alive');
    await until(() => h.messages.length === 1, 'message after junk');
    expect(h.messages[0]?.user_name).toBe('after');
    expect(a.state().connected).toBe(true);
  });

  it('is read-only without a token and says so', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new KickAdapter(cfg(s, false), h.deps({})));
    await a.start();
    await until(() => a.state().connected, 'connected');
    expect(a.state()).toMatchObject({ read_only: true, note: expect.stringMatching(/read-only/) });
    expect(await a.send('x')).toBe(false);
    expect(s.posted).toEqual([]);
  });

  it('reconnects and resubscribes after the socket drops', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new KickAdapter(cfg(s), h.deps({ kick: 'kicktok' })));
    await a.start();
    await until(() => a.state().connected, 'connected');
    s.dropAll();
    await until(() => !a.state().connected, 'drop seen');
    await until(() => a.state().connected && s.subscribedChannels().length === 1, 'resubscribed');
    expect(s.connectionsAccepted).toBe(2);
    s.say(777, { id: 2, username: 'mod1', badges: ['moderator'] }, '!live');
    await until(() => h.messages.length === 1, 'message after reconnect');
  });
});

describe('YouTube adapter against the Data API stub', () => {
  async function stub(opts: ConstructorParameters<typeof YouTubeApiStub>[0] = {}): Promise<YouTubeApiStub> {
    const s = await new YouTubeApiStub({ tokens: ['yttok'], pollingIntervalMillis: 30, ...opts }).start();
    cleanups.push(() => s.close());
    return s;
  }
  // A generous daily quota so the quota pacing lets the stub's 30 ms interval through.
  const cfg = (s: YouTubeApiStub) => ({
    channel: 'Streamer',
    token_key: 'yt',
    host: s.url,
    quota_per_day: 100_000_000,
  });

  it('finds the live chat, skips the backlog, polls with page tokens, reads roles, replies with insert', async () => {
    const s = await stub();
    s.say({ channelId: 'UCold', displayName: 'old', moderator: true }, '!stop');
    const h = new Harness();
    const a = started(new YouTubeAdapter(cfg(s), h.deps({ yt: 'yttok' })));
    await a.start();
    await until(() => a.state().connected, 'youtube connected');
    expect(s.requests[0]).toMatchObject({
      path: '/youtube/v3/liveBroadcasts',
      query: { part: 'snippet', broadcastStatus: 'active' },
      authorization: 'Bearer yttok',
    });
    s.say({ channelId: 'UCowner', displayName: 'Streamer', owner: true }, '!live');
    s.say({ channelId: 'UCmod', displayName: 'Mod One', moderator: true }, '!brb');
    s.say({ channelId: 'UCmember', displayName: 'Member', sponsor: true }, 'hi');
    s.say({ channelId: 'UCviewer', displayName: 'Viewer' }, '!stop');
    await until(() => h.messages.length === 4, 'four youtube messages');
    expect(h.messages.map((m) => [m.user_name, m.user_id, m.flags])).toEqual([
      ['Streamer', 'UCowner', { broadcaster: true, moderator: false, vip: false }],
      ['Mod One', 'UCmod', { broadcaster: false, moderator: true, vip: false }],
      ['Member', 'UCmember', { broadcaster: false, moderator: false, vip: true }],
      ['Viewer', 'UCviewer', { broadcaster: false, moderator: false, vip: false }],
    ]);
    const polls = s.requests.filter((r) => r.path === '/youtube/v3/liveChat/messages' && r.method === 'GET');
    expect(polls[0]?.query).toEqual({ liveChatId: 'stub-live-chat', part: 'snippet,authorDetails' });
    expect(polls[1]?.query.pageToken).toBe('p1');

    expect(await a.send('done')).toBe(true);
    expect(s.inserted).toEqual([{ liveChatId: 'stub-live-chat', text: 'done' }]);
    const listed = s.count('/youtube/v3/liveChat/messages');
    const spent = 1 + listed * 5 + 50;
    expect(a.state().quota_remaining).toBe(100_000_000 - spent);
  });

  it('slows polling to what the daily quota allows', async () => {
    const s = await stub();
    const h = new Harness();
    // Noon Pacific: half a quota day left. (The real clock would leave minutes before midnight sometimes.)
    const noonPacific = Date.parse('2026-11-22T20:00:00Z');
    const a = started(
      new YouTubeAdapter({ ...cfg(s), quota_per_day: 10_000 }, h.deps({ yt: 'yttok' }), {
        now: () => noonPacific,
      }),
    );
    await a.start();
    await until(() => a.state().connected, 'connected');
    await new Promise((r) => setTimeout(r, 400));
    // With 10,000 units a day one poll may run every ~20 s, not every 30 ms.
    expect(s.count('/youtube/v3/liveChat/messages')).toBe(1);
  });

  it('budgets from the broadcast start Google reports, and tells the dock how long the quota lasts', async () => {
    const noonPacific = Date.parse('2026-11-22T20:00:00Z');
    // Engine restarted 7 h 45 min into an 8-hour broadcast: 15 minutes left to cover.
    const s = await stub({ actualStartTime: new Date(noonPacific - 7.75 * 3600_000).toISOString() });
    const h = new Harness();
    const a = started(
      new YouTubeAdapter({ ...cfg(s), quota_per_day: 10_000 }, h.deps({ yt: 'yttok' }), {
        now: () => noonPacific,
      }),
    );
    await a.start();
    await until(() => a.state().connected, 'connected');
    const pace = a.state().quota_pace;
    // ~1,900 polls over 15 minutes: one per ~0.47 s, where a fresh join would pace for 8 hours (~15 s).
    expect(pace?.poll_interval_ms).toBeGreaterThan(450);
    expect(pace?.poll_interval_ms).toBeLessThan(500);
    expect(pace?.resets_at_ms).toBe(Date.parse('2026-11-23T08:00:00Z'));
    expect(pace?.lasts_until_ms).toBeGreaterThan(noonPacific + 14 * 60_000);
    expect(pace?.lasts_until_ms).toBeLessThanOrEqual(noonPacific + 16 * 60_000);
  });

  it("polls at the API's interval for a while after a moderator's command", async () => {
    const s = await stub();
    const h = new Harness();
    const noonPacific = Date.parse('2026-11-22T20:00:00Z');
    // After the first two calls (6 units) 2,750 are left for a 15-minute broadcast:
    // (2,750 - 500) / 5 = 450 polls, one per 2 s. The stub asks for 30 ms.
    const a = started(
      new YouTubeAdapter(
        { ...cfg(s), quota_per_day: 2756, expected_stream_hours: 0.25 },
        h.deps({ yt: 'yttok' }),
        { now: () => noonPacific, commandPrefix: '!' },
      ),
    );
    const polls = () => s.count('/youtube/v3/liveChat/messages');
    await a.start();
    await until(() => a.state().connected, 'connected');
    expect(a.state().quota_pace?.poll_interval_ms).toBe(2000);
    s.say({ channelId: 'UCviewer', displayName: 'Viewer' }, '!brb');
    await until(() => h.messages.length === 1, 'viewer command read', 5000);
    const afterViewer = polls();
    await new Promise((r) => setTimeout(r, 500));
    // A viewer's command changes nothing: the next poll is still ~2 s away.
    expect(polls()).toBe(afterViewer);
    await until(() => polls() > afterViewer, 'next steady poll', 5000);
    s.say({ channelId: 'UCmod', displayName: 'Mod', moderator: true }, '!brb');
    await until(() => h.messages.length === 2, 'moderator command read', 5000);
    const afterMod = polls();
    // Now every ~30 ms, where the steady pace would allow no poll at all in this time.
    await until(() => polls() >= afterMod + 5, 'burst polls', 1500);
    expect(a.state().quota_pace?.poll_interval_ms).toBeGreaterThanOrEqual(2000);
  });

  it('backs off on quotaExceeded and reports the quota as used up', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new YouTubeAdapter(cfg(s), h.deps({ yt: 'yttok' })));
    await a.start();
    await until(() => a.state().connected, 'connected');
    s.quotaExceeded = true;
    await until(() => a.state().quota_remaining === 0, 'quota exhausted');
    expect(a.state()).toMatchObject({ connected: false, note: expect.stringMatching(/quota exceeded/) });
    const before = s.requests.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.requests.length).toBe(before);
    expect(await a.send('x')).toBe(false);
  });

  it('reconnects after the API drops connections', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new YouTubeAdapter(cfg(s), h.deps({ yt: 'yttok' })));
    await a.start();
    await until(() => a.state().connected, 'connected');
    s.dropNext(3);
    await until(() => !a.state().connected, 'failure seen');
    await until(() => a.state().connected, 'recovered');
    expect(a.state().reconnects).toBeGreaterThanOrEqual(1);
    s.say({ channelId: 'UCmod', displayName: 'Mod', moderator: true }, '!live');
    await until(() => h.messages.length === 1, 'message after recovery');
  });

  it('waits for a broadcast and says why it is not connected', async () => {
    const s = await stub({ liveChatId: null });
    const h = new Harness();
    const a = started(new YouTubeAdapter(cfg(s), h.deps({ yt: 'yttok' })));
    await a.start();
    await until(() => a.state().note === 'no active broadcast', 'no broadcast note');
    s.liveChatId = 'late-chat';
    await until(() => a.state().connected, 'connected once live', 5000);
  });

  it('does nothing without a token and says so', async () => {
    const s = await stub();
    const h = new Harness();
    const a = started(new YouTubeAdapter(cfg(s), h.deps({})));
    await a.start();
    expect(a.state()).toMatchObject({ connected: false, note: expect.stringMatching(/no token/) });
    expect(s.requests).toEqual([]);
  });
});
