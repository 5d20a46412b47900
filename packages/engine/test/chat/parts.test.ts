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
  parseTwitchHost,
  pollDelay,
  prefixProblem,
  ptDay,
  quotaRemaining,
  readAuditFile,
  resolveRole,
  spendQuota,
  twitchFlags,
  YOUTUBE_COSTS,
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

  it('never polls faster than the quota allows', () => {
    const day = 86_400_000;
    // 10,000 units over a whole day: (10000 - 500) / 5 = 1900 polls → one per ~45 s.
    expect(pollDelay(1000, 10_000, day)).toBe(Math.ceil(day / 1900));
    // Plenty of quota: the API's interval wins.
    expect(pollDelay(2000, 10_000_000, day)).toBe(2000);
    // Nothing left beyond the reply reserve: wait for the reset.
    expect(pollDelay(1000, 500, 3_600_000)).toBe(3_600_000);
    expect(YOUTUBE_COSTS).toEqual({ broadcastsList: 1, messagesList: 5, messagesInsert: 50 });
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
