import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KickStub } from '../support/chat-stubs/kick-stub.js';
import { type StubChatter, TwitchIrcStub } from '../support/chat-stubs/twitch-irc-stub.js';
import { YouTubeApiStub } from '../support/chat-stubs/youtube-stub.js';
import { EngineApi } from '../support/engine-api.js';
import { launchTelemy, setSecrets, toml, writeEngineConfig } from '../support/engine-run.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { type SrtPublisher, startFfmpegPublisher } from '../support/srt.js';
import { type SrtFeed, startSrtFeed } from '../support/srt-feed.js';
import { eventually, newTelemyHome, type TelemyProcess } from '../support/telemy-process.js';

/**
 * Issue 8 end to end: `telemy engine` (direct switching) against a real headless OBS, with Twitch,
 * Kick and YouTube chat all pointed at wire-level stubs at once, and a real SRT feed
 * (ffmpeg → srt-live-transmit JSON stats) so a threshold changed from chat visibly reclassifies it.
 */

const OBS_PORT = 44650;
const ENGINE_PORT = 7200;
const SRT_PORT = 47610;
const SINK_PORT = 47611;
const OBS_PASSWORD = 'chat-e2e-obs-pw';
const CHANNEL = 'streamer';
const KICK_ROOM = 4242;
/** The engine's default global cooldown of mutating commands, plus slack. */
const COOLDOWN_MS = 5_000 + 300;

const MOD: StubChatter = { login: 'mod1', userId: '2', badges: 'moderator/1' };
const MOD2: StubChatter = { login: 'mod2', userId: '3', badges: 'moderator/1,subscriber/6' };
const VIEWER: StubChatter = { login: 'viewer', userId: '4', badges: '' };

let obs: ObsHandle;
let engine: TelemyProcess;
let home: string;
let twitch: TwitchIrcStub;
let kick: KickStub;
let youtube: YouTubeApiStub;
let relay: SrtFeed;
let phone: SrtPublisher;
const api = new EngineApi(ENGINE_PORT);
/** When each command was last accepted, to wait out its global cooldown before reusing it. */
const acceptedAt = new Map<string, number>();

interface AuditLine {
  platform: string;
  user_name: string;
  role: string;
  command: string;
  outcome: string;
  request_id: string;
}

interface ApiState {
  obs: { connection: string; currentScene: string | null };
  feed: { sources: Array<{ name: string; classification: string; bitrate_kbps: number | null }> };
  chat: Array<{ platform: string; connected: boolean; read_only: boolean }> | null;
  events: Array<{ text: string; request_id: string | null }>;
}

const state = () => api.get<ApiState>('/api/state');

function audit(): AuditLine[] {
  const dir = join(home, 'audit');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

async function auditFor(pred: (a: AuditLine) => boolean): Promise<AuditLine> {
  return (await eventually(() => audit().find(pred), 5_000)).value;
}

async function sceneBecomes(name: string): Promise<void> {
  await eventually(async () => (await obs.currentScene()) === name, 5_000);
}

async function waitOutCooldown(command: string): Promise<void> {
  const at = acceptedAt.get(command);
  if (at === undefined) return;
  const left = at + COOLDOWN_MS - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

/** Sends a mod command on Twitch and resolves with the reply the engine sent back to the stub. */
async function twitchCommand(from: StubChatter, text: string): Promise<string> {
  const before = twitch.sent.length;
  twitch.say(CHANNEL, from, text);
  await twitch.waitFor(() => twitch.sent.length > before, 5_000, `reply to ${text}`);
  return twitch.sent[before]?.text ?? '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

beforeAll(async () => {
  [obs, twitch, kick, youtube] = await Promise.all([
    startObs({
      port: OBS_PORT,
      password: OBS_PASSWORD,
      scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE', 'PRIVACY'],
    }),
    new TwitchIrcStub({ tokens: { 'tw-secret': { login: 'telemybot', userId: '99' } } }).start(),
    new KickStub({
      channels: { [CHANNEL]: { chatroomId: KICK_ROOM, userId: 77 } },
      tokens: ['kick-secret'],
    }).start(),
    new YouTubeApiStub({ tokens: ['yt-secret'], pollingIntervalMillis: 100 }).start(),
  ]);
  home = newTelemyHome();
  // ~600 kbps is ~57 packets/s: stats every 15 packets is about four a second.
  relay = await startSrtFeed({ port: SRT_PORT, sinkPort: SINK_PORT, dir: home, statsEveryPackets: 15 });
  phone = startFfmpegPublisher({ url: relay.url, bitrateKbps: 600, size: '320x180' });
  writeEngineConfig(
    home,
    { obsPort: OBS_PORT, enginePort: ENGINE_PORT },
    toml.cloudOff,
    // Only chat commands switch scenes here, so a reclassified feed cannot move OBS under the test.
    '[automation]\nauto_scene_switch = false',
    '[failover]\nlow_bitrate_kbps = 400\noffline_bitrate_kbps = 100',
    toml.srtSource(relay.statsFile),
    `[chat]
admins = []
privacy_scene = "PRIVACY"
[chat.twitch]
channel = "${CHANNEL}"
token_key = "twitch_token"
host = "${twitch.url}"
[chat.kick]
channel = "${CHANNEL}"
token_key = "kick_token"
host = "${kick.wsUrl}"
api_host = "${kick.httpUrl}"
web_host = "${kick.httpUrl}"
chatroom_id = ${KICK_ROOM}
[chat.youtube]
channel = "${CHANNEL}"
token_key = "youtube_token"
host = "${youtube.url}"
live_chat_id = "${youtube.liveChatId}"
quota_per_day = 10000000
`,
  );
  setSecrets(home, {
    obs_password: OBS_PASSWORD,
    twitch_token: 'tw-secret',
    kick_token: 'kick-secret',
    youtube_token: 'yt-secret',
  });
  ({ telemy: engine, token: api.token } = await launchTelemy('engine', {
    home,
    env: { TWURPLE_MOCK_API_PORT: String(twitch.httpPort) },
  }));
  await eventually(async () => {
    const s = await state();
    return (
      s.obs.connection === 'connected' &&
      s.chat?.length === 3 &&
      s.chat.every((c) => c.connected && !c.read_only) &&
      s.feed.sources.some((f) => f.name === 'phone' && f.classification === 'normal')
    );
  }, 30_000);
}, 90_000);

afterAll(async () => {
  await engine?.stop();
  await phone?.stop();
  await relay?.stop();
  await Promise.all([obs?.dispose(), twitch?.close(), kick?.close(), youtube?.close()]);
});

describe('chat commands through telemy engine and a real OBS', () => {
  it("a moderator's !brb on Twitch switches OBS to BRB and the reply says so", async () => {
    expect(await obs.currentScene()).toBe('LIVE');
    const reply = await twitchCommand(MOD, '!brb');
    acceptedAt.set('brb', Date.now());
    expect(await obs.currentScene()).toBe('BRB');
    expect(reply).toMatch(/BRB/);
    const line = await auditFor((a) => a.user_name === 'mod1' && a.command === 'brb');
    expect(line).toMatchObject({ platform: 'twitch', role: 'moderator', outcome: 'accepted' });
  });

  it("a viewer's !brb is denied and audited in the file, /api/state and /metrics", async () => {
    await obs.setScene('LIVE');
    expect(await twitchCommand(VIEWER, '!brb')).toMatch(/needs moderator/);
    const line = await auditFor((a) => a.user_name === 'viewer' && a.command === 'brb');
    expect(line).toMatchObject({ platform: 'twitch', role: 'public', outcome: 'denied_role' });
    await sleep(300);
    expect(await obs.currentScene()).toBe('LIVE');
    const s = await state();
    expect(s.events.some((e) => e.request_id === line.request_id && /denied_role/.test(e.text))).toBe(true);
    const metrics = await api.metrics();
    expect(metrics).toMatch(
      /^telemy_chat_commands_total\{[^}]*platform="twitch"[^}]*command="brb"[^}]*outcome="denied_role"[^}]*\} 1$/m,
    );
  });

  it('a second moderator !live inside the global cooldown is refused, and said so only once', async () => {
    expect(await twitchCommand(MOD, '!live')).toMatch(/LIVE/);
    acceptedAt.set('live', Date.now());
    await obs.setScene('BRB');
    await eventually(async () => (await state()).obs.currentScene === 'BRB', 3_000);
    expect(await twitchCommand(MOD2, '!live')).toMatch(/^@mod2 !live is on cooldown for [1-5] s$/);
    const line = await auditFor((a) => a.user_name === 'mod2' && a.command === 'live');
    expect(line).toMatchObject({ role: 'moderator', outcome: 'cooldown' });
    const before = twitch.sent.length;
    twitch.say(CHANNEL, MOD2, '!live');
    await eventually(
      () => audit().filter((a) => a.user_name === 'mod2' && a.command === 'live').length === 2,
      5_000,
    );
    await sleep(500);
    expect(await obs.currentScene()).toBe('BRB');
    expect(twitch.sent.length).toBe(before);
  });

  it('!trigger 1000 saves the low threshold to the config file and the engine reclassifies the feed', async () => {
    const phoneNow = async () => (await state()).feed.sources.find((f) => f.name === 'phone');
    expect(await phoneNow()).toMatchObject({ classification: 'normal' });
    const reply = await twitchCommand(MOD, '!trigger 1000');
    expect(reply).toMatch(/1000/);
    const config = readFileSync(join(home, 'config.toml'), 'utf8');
    expect(config).toMatch(/^low_bitrate_kbps = 1000$/m);
    expect(config).toContain(`host = "${twitch.url}"`);
    // ~600 kbps is healthy above 400 and low under the new 1000 kbps trigger.
    await eventually(async () => (await phoneNow())?.classification === 'low', 3_000);
  });

  it('!switch priv switches to PRIVACY by closest match and confirms it', async () => {
    const reply = await twitchCommand(MOD, '!switch priv');
    expect(await obs.currentScene()).toBe('PRIVACY');
    expect(reply).toMatch(/PRIVACY/);
  });

  it('!low puts LOW on air, !privacy the configured scene, and a viewer may ask !sourceinfo', async () => {
    expect(await twitchCommand(MOD, '!low')).toMatch(/LOW/);
    await sceneBecomes('LOW');
    expect(await twitchCommand(MOD, '!privacy')).toMatch(/PRIVACY/);
    await sceneBecomes('PRIVACY');
    expect(await twitchCommand(VIEWER, '!sourceinfo')).toMatch(/phone: (normal|low), \d+ kb\/s/);
  });

  it('the same commands work from Kick and YouTube, connected at the same time', async () => {
    await waitOutCooldown('brb');
    await waitOutCooldown('live');
    expect((await state()).chat?.map((c) => c.connected)).toEqual([true, true, true]);

    const kickBefore = kick.posted.length;
    kick.say(KICK_ROOM, { id: 501, username: 'kickmod', badges: ['moderator'] }, '!brb');
    await sceneBecomes('BRB');
    await kick.waitFor(() => kick.posted.length > kickBefore, 5_000, 'kick reply');
    expect(kick.posted[kickBefore]?.body).toMatchObject({ content: expect.stringMatching(/BRB/) });

    const ytBefore = youtube.inserted.length;
    youtube.say({ channelId: 'UCmod', displayName: 'ytmod', moderator: true }, '!live');
    await sceneBecomes('LIVE');
    await youtube.waitFor(() => youtube.inserted.length > ytBefore, 5_000, 'youtube reply');
    expect(youtube.inserted[ytBefore]?.text).toMatch(/LIVE/);

    youtube.say({ channelId: 'UCviewer', displayName: 'ytviewer' }, '!offline');
    kick.say(KICK_ROOM, { id: 502, username: 'kickviewer', badges: [] }, '!offline');
    const denied = await eventually(() => {
      const lines = audit().filter((a) => a.command === 'offline' && a.outcome === 'denied_role');
      return lines.length === 2 ? lines : null;
    }, 5_000);
    expect(denied.value.map((a) => a.platform).sort()).toEqual(['kick', 'youtube']);
    expect(await obs.currentScene()).toBe('LIVE');
    const metrics = await api.metrics();
    expect(metrics).toMatch(
      /^telemy_chat_commands_total\{[^}]*platform="kick"[^}]*command="brb"[^}]*outcome="accepted"[^}]*\} 1$/m,
    );
    expect(metrics).toMatch(
      /^telemy_chat_commands_total\{[^}]*platform="youtube"[^}]*command="live"[^}]*outcome="accepted"[^}]*\} 1$/m,
    );
  });
});
