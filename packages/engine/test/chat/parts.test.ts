import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AUDIT_FORMAT_VERSION,
  AuditFormatError,
  AuditLog,
  auditRecord,
  autoSwitchAnnouncement,
  COMMAND_DEFAULTS,
  editDistance,
  freshQuota,
  kickFlags,
  matchScene,
  msUntilQuotaReset,
  type Platform,
  pacing,
  parseTwitchHost,
  prefixProblem,
  ptDay,
  quotaLastsUntil,
  quotaRemaining,
  readAuditFile,
  resolveRole,
  rollQuota,
  spendQuota,
  twitchFlags,
  YOUTUBE_BURST_MS,
  YOUTUBE_COSTS,
  YOUTUBE_DEFAULT_QUOTA,
  youtubeFlags,
} from '../../src/chat/index.js';
import type { Attempt } from '../../src/chat/pipeline.js';

describe('scene matching', () => {
  const scenes = ['LIVE', 'BRB', 'PRIVACY', 'Just Chatting', 'OFFLINE'];
  it.each([
    ['priv', 'PRIVACY'],
    ['PRIVACY', 'PRIVACY'],
    ['live', 'LIVE'],
    ['chatting', 'Just Chatting'],
    ['just_chatting', 'Just Chatting'],
    ['privcy', 'PRIVACY'],
    ['ofline', 'OFFLINE'],
  ])('%s → %s', (q, scene) => {
    expect(matchScene(q, scenes)).toEqual({ kind: 'match', scene });
  });

  it('prefers an exact match over a longer prefix match', () => {
    expect(matchScene('brb', ['BRB', 'BRB 2'])).toEqual({ kind: 'match', scene: 'BRB' });
  });

  it('reports ambiguity instead of guessing', () => {
    expect(matchScene('b', ['BRB', 'BACKUP'])).toEqual({ kind: 'ambiguous', candidates: ['BRB', 'BACKUP'] });
  });

  it('gives up when nothing is close', () => {
    expect(matchScene('xyz', scenes)).toEqual({ kind: 'none' });
    expect(matchScene('   ', scenes)).toEqual({ kind: 'none' });
    expect(matchScene('priv', [])).toEqual({ kind: 'none' });
  });

  it('computes edit distances', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('roles from platform badges', () => {
  it('reads Twitch badges from the tag or a map', () => {
    expect(twitchFlags('broadcaster/1,subscriber/12')).toEqual({
      broadcaster: true,
      moderator: false,
      vip: false,
    });
    expect(twitchFlags(new Map([['moderator', '1']]))).toEqual({
      broadcaster: false,
      moderator: true,
      vip: false,
    });
    expect(twitchFlags('vip/1')).toEqual({ broadcaster: false, moderator: false, vip: true });
    expect(twitchFlags('')).toEqual({ broadcaster: false, moderator: false, vip: false });
  });

  it('reads Kick identity badges and tolerates junk', () => {
    expect(kickFlags([{ type: 'moderator', text: 'Moderator' }, { type: 'og' }])).toMatchObject({
      moderator: true,
    });
    expect(kickFlags([{ type: 'broadcaster' }])).toMatchObject({ broadcaster: true });
    expect(kickFlags('nope')).toEqual({ broadcaster: false, moderator: false, vip: false });
    expect(kickFlags([null, 3, { type: 7 }])).toEqual({ broadcaster: false, moderator: false, vip: false });
  });

  it('reads YouTube authorDetails (members rank as VIP)', () => {
    expect(youtubeFlags({ isChatOwner: true })).toMatchObject({ broadcaster: true });
    expect(youtubeFlags({ isChatModerator: true })).toMatchObject({ moderator: true });
    expect(youtubeFlags({ isChatSponsor: true })).toMatchObject({ vip: true });
  });

  it('orders broadcaster > admin > moderator > vip > public', () => {
    const all = { broadcaster: true, moderator: true, vip: true };
    const who = (platform: Platform, user_name: string) => ({
      platform,
      user_name,
      user_id: `id-${user_name}`,
    });
    expect(resolveRole(all, who('twitch', 'x'), ['x'])).toBe('broadcaster');
    expect(resolveRole({ ...all, broadcaster: false }, who('twitch', 'X'), ['x'])).toBe('admin');
    expect(resolveRole({ ...all, broadcaster: false }, who('twitch', 'y'), ['x'])).toBe('moderator');
    expect(resolveRole({ broadcaster: false, moderator: false, vip: true }, who('kick', 'y'), [])).toBe(
      'vip',
    );
    expect(resolveRole({ broadcaster: false, moderator: false, vip: false }, who('kick', 'y'), [])).toBe(
      'public',
    );
  });

  it('never grants admin to a YouTube display name, only to a qualified channel id or name', () => {
    const none = { broadcaster: false, moderator: false, vip: false };
    const yt = { platform: 'youtube' as const, user_name: 'Alice', user_id: 'UCalice123' };
    expect(resolveRole(none, yt, ['alice'])).toBe('public');
    expect(resolveRole(none, yt, ['youtube:UCalice123'])).toBe('admin');
    expect(resolveRole(none, yt, ['twitch:alice'])).toBe('public');
    expect(resolveRole(none, { ...yt, platform: 'kick' }, ['alice'])).toBe('admin');
  });
});

describe('config defaults and bounds', () => {
  it('gives mutating commands a 5 s global cooldown and public ones a 30 s user cooldown', () => {
    expect(COMMAND_DEFAULTS.brb).toMatchObject({ role: 'moderator', cooldown_s: 5, user_cooldown_s: 0 });
    expect(COMMAND_DEFAULTS.status).toMatchObject({ role: 'public', user_cooldown_s: 30 });
    expect(COMMAND_DEFAULTS.telemy).toMatchObject({ role: 'public', cooldown_s: 0, user_cooldown_s: 30 });
  });

  it('refuses prefixes that could be spoofed or never typed', () => {
    expect(prefixProblem('!')).toBeNull();
    expect(prefixProblem('\uff01')).toMatch(/NFKC/);
    expect(prefixProblem('a')).toMatch(/letters/);
    expect(prefixProblem('')).toMatch(/1-3/);
    expect(prefixProblem('! ')).toMatch(/spaces/);
  });

  it('parses Twitch host overrides', () => {
    expect(parseTwitchHost('irc://127.0.0.1:47501')).toEqual({
      hostName: '127.0.0.1',
      port: 47501,
      ssl: false,
      webSocket: false,
    });
    expect(parseTwitchHost('wss://irc-ws.chat.twitch.tv')).toMatchObject({
      port: 443,
      ssl: true,
      webSocket: true,
    });
    expect(() => parseTwitchHost('http://x')).toThrow(/scheme/);
    expect(() => parseTwitchHost('nonsense')).toThrow(/not a URL/);
  });
});

describe('announcements', () => {
  it('names the scene, the reason and the bitrate', () => {
    expect(autoSwitchAnnouncement('BRB', 'feed offline', 0)).toBe(
      'Telemy: switched to BRB (feed offline, 0 kbps)',
    );
    expect(autoSwitchAnnouncement('LIVE', 'feed recovered', 5999.6)).toBe(
      'Telemy: switched to LIVE (feed recovered, 6000 kbps)',
    );
    expect(autoSwitchAnnouncement('LOW', 'RTT 3000 ms', null)).toBe('Telemy: switched to LOW (RTT 3000 ms)');
  });
});

describe('YouTube quota', () => {
  // 2026-11-22 10:00 UTC = 02:00 PST.
  const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);

  it('resets at midnight Pacific Time', () => {
    expect(ptDay(t0)).toBe('2026-11-22');
    expect(msUntilQuotaReset(t0)).toBe(22 * 3600_000);
    let q = spendQuota(freshQuota(t0), 9000, t0);
    expect(quotaRemaining(q, 10_000, t0)).toBe(1000);
    q = { ...q, exhausted: true };
    expect(quotaRemaining(q, 10_000, t0)).toBe(0);
    expect(quotaRemaining(q, 10_000, t0 + 22 * 3600_000)).toBe(10_000);
  });

  it('resets at midnight Pacific on both daylight-saving change days', () => {
    // 2026-03-08 01:00 PST: clocks jump to 03:00, the day has 23 hours; next midnight is 07:00 UTC.
    const spring = Date.UTC(2026, 2, 8, 9, 0, 0);
    expect(msUntilQuotaReset(spring)).toBe(22 * 3600_000);
    // 2026-11-01 01:30 PDT, then 01:30 PST an hour later: a 25-hour day; next midnight is 08:00 UTC.
    const fall = Date.UTC(2026, 10, 1, 8, 30, 0);
    expect(msUntilQuotaReset(fall)).toBe(23.5 * 3600_000);
    expect(msUntilQuotaReset(fall + 3600_000)).toBe(22.5 * 3600_000);
    expect(ptDay(Date.UTC(2026, 10, 2, 7, 59, 59))).toBe('2026-11-01');
    expect(ptDay(Date.UTC(2026, 10, 2, 8, 0, 0))).toBe('2026-11-02');
  });

  const H = 3600_000;
  // 2026-11-22 08:00 PST: sixteen hours before the reset, so an 8-hour broadcast ends first.
  const morning = Date.UTC(2026, 10, 22, 16, 0, 0);
  const base = {
    now: morning,
    apiIntervalMs: 2000,
    remaining: YOUTUBE_DEFAULT_QUOTA,
    perDay: YOUTUBE_DEFAULT_QUOTA,
    broadcastStart: morning,
    expectedStreamMs: 8 * H,
    burstUsed: 0,
    lastCommandAt: null,
  };

  it('spreads the quota over the broadcast, not the day', () => {
    // (10,000 - 500 reserve) / 5 = 1,900 polls over 8 h: one per 15.2 s, not one per 30 s over 16 h.
    const p = pacing(base);
    expect(p).toMatchObject({ horizonMs: 8 * H, burst: false });
    expect(p.delayMs).toBe(Math.ceil((8 * H) / 1900));
    expect(quotaLastsUntil(base.remaining, p.delayMs, morning)).toBe(morning + 1900 * p.delayMs);
  });

  it('polls at the interval the API asks for whenever the quota covers the rest of the broadcast', () => {
    expect(pacing({ ...base, perDay: 60_000, remaining: 60_000 }).delayMs).toBe(Math.ceil((8 * H) / 11_900));
    expect(pacing({ ...base, perDay: 100_000, remaining: 100_000 }).delayMs).toBe(2000);
    // The default quota, with 45 minutes of the broadcast left: 1,900 polls cover it at 2 s.
    const late = { ...base, now: morning + 7.25 * H };
    expect(pacing(late)).toMatchObject({ delayMs: 2000, burst: false });
    // Google asks for 20 s: never faster than that.
    expect(pacing({ ...base, apiIntervalMs: 20_000 }).delayMs).toBe(20_000);
  });

  it('with the quota nearly spent, polls slower and still last the broadcast', () => {
    let now = morning + 4 * H;
    let q = spendQuota(freshQuota(morning), 9000, morning);
    const end = morning + 8 * H;
    const first = pacing({ ...base, now, remaining: quotaRemaining(q, 10_000, now) });
    // 500 units beyond the reply reserve: 100 polls over the 4 hours left, one per 144 s.
    expect(first.delayMs).toBe(144_000);
    let polls = 0;
    while (now < end) {
      const p = pacing({ ...base, now, remaining: quotaRemaining(q, 10_000, now) });
      expect(p.delayMs).toBeLessThanOrEqual(144_000);
      now += p.delayMs;
      q = spendQuota(q, YOUTUBE_COSTS.messagesList, now);
      polls++;
    }
    expect(polls).toBe(100);
    // The reply reserve is untouched, and polls were still running when the broadcast ended.
    expect(quotaRemaining(q, 10_000, now)).toBe(500);
    expect(now - end).toBeLessThan(144_000);
  });

  it('a reset in mid-broadcast: the quota left lasts until midnight Pacific, then a fresh one takes over (fall back night)', () => {
    // 2026-10-31 20:00 PDT; 8 hours end at 03:00 PST, after midnight and the clock change.
    const start = Date.UTC(2026, 10, 1, 3, 0, 0);
    const midnight = Date.UTC(2026, 10, 1, 7, 0, 0);
    const end = start + 8 * H;
    let q = freshQuota(start);
    let now = start;
    let lowest = Number.POSITIVE_INFINITY;
    const delays: number[] = [];
    while (now < end) {
      q = rollQuota(q, now);
      const remaining = quotaRemaining(q, 10_000, now);
      lowest = Math.min(lowest, remaining);
      const p = pacing({ ...base, now, remaining, broadcastStart: start });
      if (now === start) expect(p.horizonMs).toBe(midnight - start);
      delays.push(p.delayMs);
      now += p.delayMs;
      q = spendQuota(q, YOUTUBE_COSTS.messagesList, now);
    }
    // Four hours on each side of midnight with 1,900 polls each: about 7.6 s apart all night.
    expect(Math.max(...delays)).toBeLessThanOrEqual(Math.ceil((4 * H) / 1800));
    expect(lowest).toBeGreaterThanOrEqual(500);
    expect(q.day).toBe('2026-11-01');
    expect(delays.length).toBeGreaterThan(3700);
  });

  it('past the expected end the quota must last until the reset', () => {
    const p = pacing({ ...base, now: morning + 9 * H, remaining: 5500 });
    expect(p.horizonMs).toBe(7 * H);
    expect(p.delayMs).toBe(Math.ceil((7 * H) / 1000));
  });

  it('polls at the API interval for a while after a command, from a capped share of the quota', () => {
    const afterCommand = { ...base, lastCommandAt: morning - 10_000 };
    expect(pacing(afterCommand)).toMatchObject({ delayMs: 2000, burst: true });
    expect(pacing(afterCommand).steadyMs).toBe(pacing(base).steadyMs);
    expect(pacing({ ...afterCommand, lastCommandAt: morning - YOUTUBE_BURST_MS }).burst).toBe(false);
    // A tenth of 10,000 units already went to bursts today.
    expect(pacing({ ...afterCommand, burstUsed: 995 }).burst).toBe(true);
    expect(pacing({ ...afterCommand, burstUsed: 1000 }).burst).toBe(false);
    // Nothing beyond the reply reserve: wait for the reset, burst or not.
    const spent = pacing({ ...afterCommand, remaining: 500 });
    expect(spent).toMatchObject({ burst: false, delayMs: msUntilQuotaReset(morning) });
    expect(YOUTUBE_COSTS).toEqual({ broadcastsList: 1, messagesList: 5, messagesInsert: 50 });
  });

  it('says when the quota lasts past the reset', () => {
    expect(quotaLastsUntil(10_000, 60_000, morning)).toBeNull();
    expect(quotaLastsUntil(1000, 60_000, morning)).toBe(morning + 100 * 60_000);
  });
});

describe('audit log', () => {
  let dir: string;
  const attempt: Attempt = {
    platform: 'twitch',
    channel: 'streamer',
    user_id: '42',
    user_name: 'mod1',
    role: 'moderator',
    command: 'brb',
    args: [],
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-audit-'));
    process.env.TELEMY_HOME = dir;
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes versioned JSON lines under <data>/audit by default', () => {
    const log = new AuditLog();
    log.append(auditRecord(attempt, 'accepted', '', 'req-1', Date.UTC(2026, 0, 1)));
    expect(log.file).toBe(path.join(dir, 'audit', 'audit.jsonl'));
    expect(readAuditFile(log.file)).toEqual([
      {
        v: AUDIT_FORMAT_VERSION,
        type: 'chat_command',
        at: '2026-01-01T00:00:00.000Z',
        ...attempt,
        outcome: 'accepted',
        detail: '',
        request_id: 'req-1',
      },
    ]);
  });

  it('rotates by size and keeps N files', () => {
    const log = new AuditLog({ maxBytes: 1000, keep: 3 });
    for (let i = 0; i < 40; i++) log.append(auditRecord(attempt, 'cooldown', `n${i}`, `r${i}`, i));
    const files = fs.readdirSync(log.dir).sort();
    expect(files).toEqual(['audit.1.jsonl', 'audit.2.jsonl', 'audit.jsonl']);
    for (const f of files) expect(fs.statSync(path.join(log.dir, f)).size).toBeLessThanOrEqual(1000);
    const newest = readAuditFile(log.file);
    expect(newest.at(-1)?.detail).toBe('n39');
    const previous = readAuditFile(log.rotatedPath(1));
    expect(Number(previous.at(-1)?.detail.slice(1))).toBe(Number(newest[0]?.detail.slice(1)) - 1);
  });

  it('continues an existing file after a restart', () => {
    new AuditLog().append(auditRecord(attempt, 'accepted', 'first', 'a', 0));
    new AuditLog().append(auditRecord(attempt, 'accepted', 'second', 'b', 1));
    expect(readAuditFile(path.join(dir, 'audit', 'audit.jsonl')).map((r) => r.detail)).toEqual([
      'first',
      'second',
    ]);
  });

  it('refuses a file written in a newer format', () => {
    fs.mkdirSync(path.join(dir, 'audit'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'audit', 'audit.jsonl'), `${JSON.stringify({ v: 99 })}\n`);
    expect(() => new AuditLog()).toThrow(AuditFormatError);
  });
});
