import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KickStub } from '../../../../test/support/chat-stubs/kick-stub.js';
import { TwitchIrcStub } from '../../../../test/support/chat-stubs/twitch-irc-stub.js';
import { YouTubeApiStub } from '../../../../test/support/chat-stubs/youtube-stub.js';
import {
  AuditLog,
  CHAT_DEFAULTS,
  type ChatAuditRecord,
  ChatBridge,
  type ChatConfig,
  type ChatPlatformState,
  readAuditFile,
} from '../../src/chat/index.js';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import { FakeChatActions } from './fake-actions.js';

/**
 * End to end over the wire: three platform stubs → adapters → pipeline → ChatActions (recorded),
 * replies back to each stub, audit file, event callback and metrics. The pipeline's clock is fake
 * so cooldown windows are exact; the sockets run in real time.
 */

async function until(pred: () => boolean, what: string, timeoutMs = 6000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const MOD = { login: 'mod1', userId: '2', badges: 'moderator/1' };
const MOD2 = { login: 'mod2', userId: '3', badges: 'moderator/1' };
const VIEWER = { login: 'viewer', userId: '4', badges: '' };
const KICK_MOD = { id: 20, username: 'KickMod', badges: ['moderator'] };
const YT_MOD = { channelId: 'UCmod', displayName: 'YtMod', moderator: true };

describe('ChatBridge end to end with the Twitch, Kick and YouTube stubs', () => {
  let home: string;
  let twitch: TwitchIrcStub;
  let kick: KickStub;
  let youtube: YouTubeApiStub;
  let bridge: ChatBridge;
  let actions: FakeChatActions;
  let metrics: EngineMetrics;
  let clock = 1_000_000;
  const events: ChatAuditRecord[] = [];
  let lastStates: ChatPlatformState[] = [];

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-chat-e2e-'));
    process.env.TELEMY_HOME = home;
    twitch = await new TwitchIrcStub({ tokens: { twtok: { login: 'telemybot', userId: '99' } } }).start();
    process.env.TWURPLE_MOCK_API_PORT = String(twitch.httpPort);
    kick = await new KickStub({
      channels: { streamer: { chatroomId: 555, userId: 7 } },
      tokens: ['kicktok'],
    }).start();
    youtube = await new YouTubeApiStub({ tokens: ['yttok'], pollingIntervalMillis: 20 }).start();
    const config: ChatConfig = {
      ...CHAT_DEFAULTS,
      announce_auto_switch: true,
      twitch: { channel: 'streamer', token_key: 'twitch_token', host: twitch.url },
      kick: {
        channel: 'streamer',
        token_key: 'kick_token',
        host: kick.wsUrl,
        web_host: kick.httpUrl,
        api_host: kick.httpUrl,
      },
      youtube: { channel: 'Streamer', token_key: 'yt_token', host: youtube.url, quota_per_day: 100_000_000 },
    };
    const secrets: Record<string, string> = {
      twitch_token: 'twtok',
      kick_token: 'kicktok',
      yt_token: 'yttok',
    };
    actions = new FakeChatActions();
    metrics = new EngineMetrics();
    bridge = new ChatBridge({
      config,
      actions,
      getSecret: async (k) => secrets[k] ?? null,
      audit: new AuditLog(),
      metrics,
      onEvent: (r) => events.push(r),
      onState: (s) => {
        lastStates = s;
      },
      now: () => clock,
      log: createLogger('chat-e2e', { level: 'silent' }),
      reconnect: { baseMs: 20, maxMs: 200 },
    });
    await bridge.start();
    await until(() => bridge.states().every((s) => s.connected), 'all three platforms connected', 10_000);
  });

  afterAll(async () => {
    await bridge?.stop();
    await Promise.all([twitch?.close(), kick?.close(), youtube?.close()]);
    fs.rmSync(home, { recursive: true, force: true });
  });

  function event(pred: (r: ChatAuditRecord) => boolean): ChatAuditRecord | undefined {
    return events.find(pred);
  }

  it('reports every platform connected and writable', async () => {
    expect(lastStates.map((s) => [s.platform, s.connected, s.read_only])).toEqual([
      ['twitch', true, false],
      ['kick', true, false],
      ['youtube', true, false],
    ]);
    const gauge = await metrics.chatConnected.get();
    expect(gauge.values.map((v) => [v.labels.platform, v.value]).sort()).toEqual([
      ['kick', 1],
      ['twitch', 1],
      ['youtube', 1],
    ]);
  });

  it("runs a moderator's !brb from Twitch and says so in the reply", async () => {
    twitch.say('streamer', MOD, '!brb');
    await until(() => actions.calls.some((c) => c.method === 'explicitIntent'), 'intent');
    expect(actions.calls.at(-1)).toMatchObject({
      method: 'explicitIntent',
      args: ['BRB'],
      source: { kind: 'chat', platform: 'twitch', user_name: 'mod1' },
    });
    await twitch.waitFor(() => twitch.sent.length === 1, 5000, 'reply');
    expect(twitch.sent[0]).toEqual({ nick: 'telemybot', channel: 'streamer', text: '@mod1 switched to BRB' });
  });

  it("denies and audits a public user's !brb without reaching the engine", async () => {
    const before = actions.mutations().length;
    twitch.say('streamer', VIEWER, '!brb');
    await until(() => !!event((r) => r.user_name === 'viewer'), 'denied audit');
    expect(event((r) => r.user_name === 'viewer')).toMatchObject({
      outcome: 'denied_role',
      command: 'brb',
      role: 'public',
    });
    expect(actions.mutations().length).toBe(before);
  });

  it('refuses a second moderator !live inside the global cooldown, saying so once', async () => {
    clock += 60_000;
    twitch.say('streamer', MOD, '!live');
    await until(() => actions.calls.some((c) => c.args[0] === 'LIVE'), 'first live');
    clock += 1000;
    twitch.say('streamer', MOD2, '!live');
    await until(() => !!event((r) => r.user_name === 'mod2'), 'cooldown audit');
    expect(event((r) => r.user_name === 'mod2')).toMatchObject({ outcome: 'cooldown', command: 'live' });
    await twitch.waitFor(() => twitch.sent.some((m) => m.text.startsWith('@mod2')), 5000, 'cooldown reply');
    twitch.say('streamer', MOD2, '!live');
    await until(() => events.filter((r) => r.user_name === 'mod2').length === 2, 'second cooldown audit');
    await bridge.idle();
    expect(actions.calls.filter((c) => c.args[0] === 'LIVE')).toHaveLength(1);
    expect(twitch.sent.filter((m) => m.text.startsWith('@mod2')).map((m) => m.text)).toEqual([
      '@mod2 !live is on cooldown for 4 s',
    ]);
  });

  it('sets the low threshold with !trigger 1000 and switches to PRIVACY with !switch priv', async () => {
    clock += 60_000;
    twitch.say('streamer', MOD, '!trigger 1000');
    twitch.say('streamer', MOD, '!switch priv');
    await until(() => actions.calls.some((c) => c.method === 'switchToScene'), 'switch');
    await until(() => actions.calls.some((c) => c.method === 'setThreshold'), 'threshold');
    expect(actions.calls.find((c) => c.method === 'setThreshold')?.args).toEqual(['low_bitrate_kbps', 1000]);
    expect(actions.calls.find((c) => c.method === 'switchToScene')?.args).toEqual(['PRIVACY']);
  });

  it('takes the same commands from Kick and YouTube while Twitch stays connected', async () => {
    for (const platform of ['kick', 'youtube'] as const) {
      clock += 60_000;
      const say = (text: string) =>
        platform === 'kick' ? kick.say(555, KICK_MOD, text) : youtube.say(YT_MOD, text);
      const from = platform === 'kick' ? 'kickmod' : 'YtMod';
      say('!brb');
      await until(
        () => actions.calls.some((c) => c.source?.platform === platform && c.args[0] === 'BRB'),
        `${platform} brb`,
      );
      say('!trigger 1200');
      say('!switch priv');
      await until(
        () => actions.calls.some((c) => c.source?.platform === platform && c.method === 'switchToScene'),
        `${platform} switch`,
      );
      await until(
        () => actions.calls.some((c) => c.source?.platform === platform && c.method === 'setThreshold'),
        'thr',
      );
      const mine = actions.calls.filter((c) => c.source?.platform === platform);
      expect(mine.map((c) => [c.method, ...c.args])).toEqual(
        expect.arrayContaining([
          ['explicitIntent', 'BRB'],
          ['setThreshold', 'low_bitrate_kbps', 1200],
          ['switchToScene', 'PRIVACY'],
        ]),
      );
      expect(mine.every((c) => c.source?.user_name === from)).toBe(true);
    }
    await until(() => kick.posted.length >= 3 && youtube.inserted.length >= 3, 'kick and youtube replies');
    expect(kick.posted[0]?.body.content).toBe('@KickMod switched to BRB');
    expect(youtube.inserted.map((m) => m.text)).toContain('@YtMod switched to PRIVACY');

    // All three at once, each a different command so no cooldown is involved.
    clock += 60_000;
    const seen = events.length;
    kick.say(555, KICK_MOD, '!brb');
    youtube.say(YT_MOD, '!live');
    twitch.say('streamer', MOD, '!switch privacy');
    await until(() => events.length >= seen + 3, 'three at once');
    expect(events.slice(seen).map((r) => [r.platform, r.command, r.outcome])).toEqual(
      expect.arrayContaining([
        ['kick', 'brb', 'accepted'],
        ['youtube', 'live', 'accepted'],
        ['twitch', 'switch', 'accepted'],
      ]),
    );
  });

  it('announces automatic switches on every platform', async () => {
    const tw = twitch.sent.length;
    const sent = await bridge.announce('auto: BRB (feed 120 kbps)');
    expect(sent.sort()).toEqual(['kick', 'twitch', 'youtube']);
    await twitch.waitFor(() => twitch.sent.length > tw, 5000, 'announcement on twitch');
    expect(kick.posted.at(-1)?.body.content).toBe('auto: BRB (feed 120 kbps)');
    expect(youtube.inserted.at(-1)?.text).toBe('auto: BRB (feed 120 kbps)');
    // Kick shows the bot's own message in the chatroom; an announcement that looks like a command
    // coming back from the broadcaster's account must not run.
    const calls = actions.calls.length;
    await bridge.announce('!stop');
    kick.say(555, { id: 7, username: 'streamer', badges: ['broadcaster'] }, '!stop');
    await new Promise((r) => setTimeout(r, 100));
    await bridge.idle();
    expect(actions.calls.length).toBe(calls);
    bridge.setConfig({ ...bridge.currentConfig(), announce_auto_switch: false });
    expect(await bridge.announce('quiet')).toEqual([]);
  });

  it('audits every attempt to the file, the event stream and telemy_chat_commands_total', async () => {
    await bridge.idle();
    const file = path.join(home, 'audit', 'audit.jsonl');
    const records = readAuditFile(file);
    expect(records.map((r) => r.request_id)).toEqual(events.map((r) => r.request_id));
    expect(new Set(records.map((r) => r.request_id)).size).toBe(records.length);
    expect(records.find((r) => r.outcome === 'denied_role')).toMatchObject({
      platform: 'twitch',
      user_name: 'viewer',
    });
    const counter = await metrics.chatCommandsTotal.get();
    const value = (platform: string, command: string, outcome: string) =>
      counter.values.find(
        (v) => v.labels.platform === platform && v.labels.command === command && v.labels.outcome === outcome,
      )?.value;
    expect(value('twitch', 'brb', 'denied_role')).toBe(1);
    expect(value('twitch', 'live', 'cooldown')).toBe(2);
    expect(value('kick', 'switch', 'accepted')).toBe(1);
    const total = counter.values.reduce((a, v) => a + v.value, 0);
    expect(total).toBe(records.length);
  });

  it('keeps working after each platform drops its connection', async () => {
    twitch.dropAll();
    kick.dropAll();
    youtube.dropNext(2);
    await until(() => bridge.states().some((s) => !s.connected), 'a drop seen');
    await until(() => bridge.states().every((s) => s.connected), 'all reconnected', 10_000);
    clock += 60_000;
    twitch.say('streamer', MOD, '!offline');
    kick.say(555, KICK_MOD, '!live');
    youtube.say(YT_MOD, '!brb');
    await until(
      () => ['twitch', 'kick', 'youtube'].every((p) => events.slice(-3).some((r) => r.platform === p)),
      'commands after reconnect',
    );
    expect(events.slice(-3).every((r) => r.outcome === 'accepted')).toBe(true);
  });
});
