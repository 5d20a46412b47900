import { createLogger } from '@telemy/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHAT_DEFAULTS,
  ChatBridge,
  type ChatConfig,
  COMMAND_NAMES,
  type CommandName,
  type CooldownState,
  decide,
  EMPTY_COOLDOWNS,
  execute,
  type IncomingChatMessage,
  NO_FLAGS,
  type Platform,
  type Role,
  type RoleFlags,
  withAlias,
} from '../../src/chat/index.js';
import { FakeChatActions } from './fake-actions.js';

const config: ChatConfig = {
  ...CHAT_DEFAULTS,
  admins: ['theadmin'],
  privacy_scene: 'PRIVACY',
  starting_scene: 'Starting Soon',
  ending_scene: 'Thanks',
};

const FLAGS: Record<Role, { flags: RoleFlags; user: string }> = {
  broadcaster: { flags: { ...NO_FLAGS, broadcaster: true }, user: 'streamer' },
  admin: { flags: NO_FLAGS, user: 'theadmin' },
  moderator: { flags: { ...NO_FLAGS, moderator: true }, user: 'mod1' },
  vip: { flags: { ...NO_FLAGS, vip: true }, user: 'vip1' },
  public: { flags: NO_FLAGS, user: 'viewer1' },
};

function msg(
  text: string,
  role: Role = 'moderator',
  over: Partial<IncomingChatMessage> = {},
): IncomingChatMessage {
  const { flags, user } = FLAGS[role];
  return {
    platform: 'twitch',
    channel: 'streamer',
    user_id: `id-${user}`,
    user_name: user,
    flags,
    text,
    ...over,
  };
}

/** The chat commands' defaults, written out independently of the implementation. */
const SPEC_MIN_ROLE: Record<CommandName, Role> = {
  live: 'moderator',
  low: 'moderator',
  brb: 'moderator',
  offline: 'moderator',
  switch: 'moderator',
  privacy: 'moderator',
  starting: 'moderator',
  ending: 'moderator',
  status: 'public',
  bitrate: 'public',
  sourceinfo: 'public',
  obsinfo: 'moderator',
  irl: 'broadcaster',
  auto: 'moderator',
  override: 'moderator',
  trigger: 'moderator',
  otrigger: 'moderator',
  rtrigger: 'moderator',
  fix: 'moderator',
  refresh: 'moderator',
  start: 'broadcaster',
  stop: 'broadcaster',
  record: 'broadcaster',
  notify: 'moderator',
  prefix: 'admin',
  alias: 'admin',
  telemy: 'public',
};
const ORDER: Role[] = ['broadcaster', 'admin', 'moderator', 'vip', 'public'];

const VALID_ARGS: Partial<Record<CommandName, string>> = {
  switch: ' priv',
  irl: ' on',
  auto: ' off',
  override: ' on',
  trigger: ' 1000',
  otrigger: ' 150',
  rtrigger: ' 3000',
  notify: ' on',
  prefix: ' ?',
  alias: ' pause brb',
  telemy: ' help',
};

describe('role × command matrix (defaults)', () => {
  for (const command of COMMAND_NAMES) {
    for (const role of ORDER) {
      const allowed = ORDER.indexOf(role) <= ORDER.indexOf(SPEC_MIN_ROLE[command]);
      it(`${role} ${allowed ? 'may' : 'may not'} run !${command}`, () => {
        const d = decide(msg(`!${command}${VALID_ARGS[command] ?? ''}`, role), config, EMPTY_COOLDOWNS, 0);
        if (allowed) {
          expect(d.kind).toBe('run');
        } else {
          expect(d).toMatchObject({ kind: 'refuse', outcome: 'denied_role' });
        }
      });
    }
  }
});

describe('allow-lists and configurable roles', () => {
  const cfg: ChatConfig = {
    ...config,
    commands: { brb: { users: ['bob', 'kick:carol'] }, status: { role: 'vip' } },
  };

  it('lets a listed public user run a moderator command', () => {
    expect(decide(msg('!brb', 'public', { user_name: 'Bob' }), cfg, EMPTY_COOLDOWNS, 0).kind).toBe('run');
  });

  it('binds a platform-qualified entry to that platform only', () => {
    const onKick = decide(
      msg('!brb', 'public', { user_name: 'carol', platform: 'kick' }),
      cfg,
      EMPTY_COOLDOWNS,
      0,
    );
    const onTwitch = decide(msg('!brb', 'public', { user_name: 'carol' }), cfg, EMPTY_COOLDOWNS, 0);
    expect(onKick.kind).toBe('run');
    expect(onTwitch).toMatchObject({ kind: 'refuse', outcome: 'denied_role' });
  });

  it('raises a public command to a configured minimum role', () => {
    expect(decide(msg('!status', 'public'), cfg, EMPTY_COOLDOWNS, 0)).toMatchObject({
      outcome: 'denied_role',
    });
    expect(decide(msg('!status', 'vip'), cfg, EMPTY_COOLDOWNS, 0).kind).toBe('run');
  });

  it('treats admins as platform-qualified when written so', () => {
    const c: ChatConfig = { ...config, admins: ['youtube:alice'] };
    expect(decide(msg('!alias x brb', 'public', { user_name: 'alice' }), c, EMPTY_COOLDOWNS, 0).kind).toBe(
      'refuse',
    );
    const yt = decide(
      msg('!alias x brb', 'public', { user_name: 'Alice', platform: 'youtube' }),
      c,
      EMPTY_COOLDOWNS,
      0,
    );
    expect(yt.kind).toBe('run');
  });
});

describe('normalisation', () => {
  it('is case-insensitive and trims', () => {
    const d = decide(msg('   !BrB  '), config, EMPTY_COOLDOWNS, 0);
    expect(d).toMatchObject({ kind: 'run', invocation: { command: 'brb' } });
  });

  it('resolves configured aliases, case-insensitively', () => {
    const c: ChatConfig = { ...config, commands: { brb: { aliases: ['pause'] } } };
    expect(decide(msg('!PAUSE'), c, EMPTY_COOLDOWNS, 0)).toMatchObject({
      kind: 'run',
      attempt: { command: 'brb' },
    });
  });

  it('adds and removes aliases in the config', () => {
    const added = withAlias(config, 'pause', 'brb');
    expect(decide(msg('!pause'), added, EMPTY_COOLDOWNS, 0)).toMatchObject({
      kind: 'run',
      attempt: { command: 'brb' },
    });
    const moved = withAlias(added, 'pause', 'live');
    expect(decide(msg('!pause'), moved, EMPTY_COOLDOWNS, 0)).toMatchObject({ attempt: { command: 'live' } });
    const removed = withAlias(moved, 'pause', null);
    expect(decide(msg('!pause'), removed, EMPTY_COOLDOWNS, 0)).toMatchObject({ outcome: 'unknown' });
  });

  it('uses the configured prefix', () => {
    const c: ChatConfig = { ...config, prefix: '?' };
    expect(decide(msg('?brb'), c, EMPTY_COOLDOWNS, 0).kind).toBe('run');
    expect(decide(msg('!brb'), c, EMPTY_COOLDOWNS, 0).kind).toBe('ignore');
  });

  it('ignores ordinary chat and bare punctuation', () => {
    for (const t of ['hello', '! wow', '!!!', '', '   ', 'brb']) {
      expect(decide(msg(t), config, EMPTY_COOLDOWNS, 0).kind).toBe('ignore');
    }
  });

  it('audits unknown commands without replying', () => {
    expect(decide(msg('!uptime'), config, EMPTY_COOLDOWNS, 0)).toMatchObject({
      kind: 'refuse',
      outcome: 'unknown',
      reply: null,
      attempt: { command: 'uptime' },
    });
  });

  it.each([
    ['fullwidth ！ (U+FF01)', '\uff01brb'],
    ['small ﹗ (U+FE57)', '\ufe57brb'],
  ])('rejects the look-alike prefix %s', (_name, text) => {
    const d = decide(msg(text, 'broadcaster'), config, EMPTY_COOLDOWNS, 0);
    expect(d).toMatchObject({ kind: 'refuse', outcome: 'invalid_args', reply: null });
    expect(d.kind === 'refuse' && d.detail).toMatch(/look-alike prefix U\+FE57|look-alike prefix U\+FF01/);
  });

  it('never runs a command behind any Unicode look-alike of the prefix (whole BMP scanned)', () => {
    const lookalikes: string[] = [];
    for (let cp = 0x80; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCharCode(cp);
      if (c.normalize('NFKC').startsWith('!')) lookalikes.push(c);
    }
    expect(lookalikes).toEqual(expect.arrayContaining(['\uff01', '\ufe57']));
    for (const c of lookalikes) {
      const d = decide(msg(`${c}brb`, 'broadcaster'), config, EMPTY_COOLDOWNS, 0);
      expect(d.kind, `U+${c.codePointAt(0)?.toString(16)}`).not.toBe('run');
      if (c.normalize('NFKC') === '!') expect(d).toMatchObject({ kind: 'refuse', outcome: 'invalid_args' });
    }
  });

  it('refuses over-long commands and ignores over-long chatter', () => {
    const long = `!brb ${'a'.repeat(600)}`;
    expect(decide(msg(long, 'broadcaster'), config, EMPTY_COOLDOWNS, 0)).toMatchObject({
      outcome: 'invalid_args',
      reply: null,
    });
    expect(decide(msg(`!brb ${'a'.repeat(490)}`), config, EMPTY_COOLDOWNS, 0).kind).toBe('run');
    expect(decide(msg('a'.repeat(5000)), config, EMPTY_COOLDOWNS, 0).kind).toBe('ignore');
  });

  it('refuses control characters', () => {
    for (const t of ['!brb\u0007', '!switch PRI\u0000VACY', '!brb\u009b']) {
      expect(decide(msg(t, 'broadcaster'), config, EMPTY_COOLDOWNS, 0)).toMatchObject({
        outcome: 'invalid_args',
        detail: 'control characters',
      });
    }
  });

  it('strips invisible format characters that chat clients append', () => {
    for (const t of ['!brb \u{e0000}', '!b\u200brb', '\u202e!brb', '!brb\u034f']) {
      expect(decide(msg(t), config, EMPTY_COOLDOWNS, 0)).toMatchObject({
        kind: 'run',
        invocation: { command: 'brb' },
      });
    }
  });
});

describe('argument validation', () => {
  it.each([
    ['!switch', 'usage: !switch <scene>'],
    ['!auto maybe', 'usage: !auto on|off'],
    ['!override on off', 'usage: !override on|off'],
    ['!irl', 'usage: !irl on|off'],
    ['!trigger abc', 'usage: !trigger [kbps]'],
    ['!trigger -5', 'usage: !trigger [kbps]'],
    ['!trigger 10.5', 'usage: !trigger [kbps]'],
    ['!trigger 9999999', 'usage: !trigger [kbps]'],
    ['!rtrigger 70000', '!rtrigger: at most 60000'],
    ['!alias', 'usage: !alias <alias> <command> | rem <alias>'],
    ['!alias brb live', 'usage: !alias <alias> <command> | rem <alias>'],
    ['!alias x nosuch', '!alias: unknown command nosuch'],
    ['!alias bad-name! brb', 'usage: !alias <alias> <command> | rem <alias>'],
    ['!telemy what', 'usage: !telemy help'],
    ['!notify', 'usage: !notify on|off'],
    ['!notify loud', 'usage: !notify on|off'],
    ['!prefix', 'usage: !prefix <prefix>'],
    ['!prefix ? !', 'usage: !prefix <prefix>'],
    ['!prefix x', '!prefix: must not contain letters or digits'],
    ['!prefix ????', '!prefix: must be 1-3 characters'],
  ])('%s → invalid_args', (text, reply) => {
    const d = decide(msg(text, 'broadcaster'), config, EMPTY_COOLDOWNS, 0);
    expect(d).toMatchObject({ kind: 'refuse', outcome: 'invalid_args' });
    expect(d.kind === 'refuse' && d.reply).toBe(`@streamer ${reply}`);
  });

  it('parses well-formed arguments', () => {
    const run = (t: string) => {
      const d = decide(msg(t, 'broadcaster'), config, EMPTY_COOLDOWNS, 0);
      return d.kind === 'run' ? d.invocation : d;
    };
    expect(run('!switch Just Chatting')).toEqual({ command: 'switch', query: 'Just Chatting' });
    expect(run('!auto OFF')).toEqual({ command: 'auto', on: false });
    expect(run('!trigger')).toEqual({ command: 'trigger', value: null });
    expect(run('!trigger 0')).toEqual({ command: 'trigger', value: 0 });
    expect(run('!alias rem pause')).toEqual({ command: 'alias', alias: 'pause', target: null });
    expect(run('!alias Pause !BRB')).toEqual({ command: 'alias', alias: 'pause', target: 'brb' });
    expect(run('!brb back in five')).toEqual({ command: 'brb' });
    expect(run('!notify OFF')).toEqual({ command: 'notify', on: false });
    expect(run('!prefix ~')).toEqual({ command: 'prefix', prefix: '~' });
    expect(run('!starting')).toEqual({ command: 'starting', scene: 'Starting Soon' });
    expect(run('!ending now')).toEqual({ command: 'ending', scene: 'Thanks' });
  });

  it('answers a scene shortcut without a configured scene that it is not set up, and starts no cooldown', () => {
    const bare: ChatConfig = { ...CHAT_DEFAULTS };
    for (const c of ['privacy', 'starting', 'ending']) {
      const d = decide(msg(`!${c}`), bare, EMPTY_COOLDOWNS, 0);
      expect(d).toMatchObject({
        kind: 'refuse',
        outcome: 'invalid_args',
        reply: `@mod1 !${c} is not set up (no ${c}_scene in [chat])`,
        cooldowns: EMPTY_COOLDOWNS,
      });
    }
  });
});

describe('cooldowns (fake clock)', () => {
  function run(
    text: string,
    role: Role,
    state: CooldownState,
    now: number,
    over: Partial<IncomingChatMessage> = {},
  ): { kind: string; outcome?: string; reply?: string | null; state: CooldownState } {
    const d = decide(msg(text, role, over), config, state, now);
    if (d.kind === 'ignore') throw new Error('ignored');
    return {
      kind: d.kind,
      outcome: d.kind === 'refuse' ? d.outcome : undefined,
      reply: d.kind === 'refuse' ? d.reply : undefined,
      state: d.cooldowns,
    };
  }

  it('refuses a second mutating command inside the 5 s global window, telling a moderator once', () => {
    const mod2 = { user_id: 'other', user_name: 'mod2' };
    const a = run('!brb', 'moderator', EMPTY_COOLDOWNS, 1000);
    expect(a.kind).toBe('run');
    const b = run('!brb', 'moderator', a.state, 3500, mod2);
    expect(b).toMatchObject({
      kind: 'refuse',
      outcome: 'cooldown',
      reply: '@mod2 !brb is on cooldown for 3 s',
    });
    const again = run('!brb', 'moderator', b.state, 4000, mod2);
    expect(again).toMatchObject({ kind: 'refuse', outcome: 'cooldown', reply: null });
    const c = run('!brb', 'moderator', again.state, 6000, mod2);
    expect(c.kind).toBe('run');
  });

  it('tells each moderator once, in the words of the configured prefix', () => {
    const c: ChatConfig = { ...config, prefix: '?' };
    const a = decide(msg('?live'), c, EMPTY_COOLDOWNS, 0);
    if (a.kind !== 'run') throw new Error('not run');
    const other = decide(msg('?live', 'moderator', { user_id: 'm2', user_name: 'mod2' }), c, a.cooldowns, 1);
    expect(other).toMatchObject({ outcome: 'cooldown', reply: '@mod2 ?live is on cooldown for 5 s' });
    const first = decide(msg('?live'), c, other.kind === 'refuse' ? other.cooldowns : a.cooldowns, 2);
    expect(first).toMatchObject({ outcome: 'cooldown', reply: '@mod1 ?live is on cooldown for 5 s' });
  });

  it('tells a moderator again in the next window', () => {
    const mod2 = { user_id: 'other', user_name: 'mod2' };
    const a = run('!brb', 'moderator', EMPTY_COOLDOWNS, 0);
    const told = run('!brb', 'moderator', a.state, 1000, mod2);
    const b = run('!brb', 'moderator', told.state, 10_000);
    expect(b.kind).toBe('run');
    expect(run('!brb', 'moderator', b.state, 11_000, mod2).reply).toBe('@mod2 !brb is on cooldown for 4 s');
  });

  it.each(['vip', 'public'] as const)('stays silent to a %s inside a cooldown', (role) => {
    const c: ChatConfig = { ...config, commands: { brb: { role: 'public' } } };
    const a = decide(msg('!brb'), c, EMPTY_COOLDOWNS, 0);
    const b = decide(msg('!brb', role), c, a.kind === 'run' ? a.cooldowns : EMPTY_COOLDOWNS, 1000);
    expect(b).toMatchObject({ kind: 'refuse', outcome: 'cooldown', reply: null });
    const s = run('!status', role, EMPTY_COOLDOWNS, 0);
    expect(run('!status', role, s.state, 10_000)).toMatchObject({ outcome: 'cooldown', reply: null });
  });

  it('starts no cooldown for reading a value, and shows it inside a change window', () => {
    const read = run('!trigger', 'moderator', EMPTY_COOLDOWNS, 0);
    expect(read).toMatchObject({ kind: 'run', state: EMPTY_COOLDOWNS });
    expect(run('!trigger 500', 'moderator', read.state, 1).kind).toBe('run');
    const set = run('!trigger 600', 'moderator', EMPTY_COOLDOWNS, 0);
    const other = { user_id: 'other', user_name: 'mod2' };
    expect(run('!trigger', 'moderator', set.state, 1000, other).kind).toBe('run');
    expect(run('!trigger 700', 'moderator', set.state, 1000, other).outcome).toBe('cooldown');
  });

  it('keeps windows per command', () => {
    const a = run('!brb', 'moderator', EMPTY_COOLDOWNS, 0);
    expect(run('!live', 'moderator', a.state, 1).kind).toBe('run');
  });

  it('limits a public user to one !status per 30 s while others may ask', () => {
    const a = run('!status', 'public', EMPTY_COOLDOWNS, 0);
    expect(a.kind).toBe('run');
    const again = run('!status', 'public', a.state, 6000);
    expect(again).toMatchObject({ outcome: 'cooldown', reply: null });
    const other = run('!status', 'public', a.state, 6000, { user_id: 'v2', user_name: 'viewer2' });
    expect(other.kind).toBe('run');
    expect(run('!status', 'public', other.state, 30_000).kind).toBe('run');
  });

  it.each(['broadcaster', 'admin'] as const)('lets the %s bypass both windows', (role) => {
    const a = run('!brb', 'moderator', EMPTY_COOLDOWNS, 0);
    expect(run('!brb', role, a.state, 100).kind).toBe('run');
    const s = run('!status', role, EMPTY_COOLDOWNS, 0);
    expect(run('!status', role, s.state, 1).kind).toBe('run');
  });

  it('has the bypassing user start the window for everyone else', () => {
    const a = run('!brb', 'broadcaster', EMPTY_COOLDOWNS, 0);
    expect(run('!brb', 'moderator', a.state, 1000).outcome).toBe('cooldown');
  });

  it('honours per-command cooldown values from the config', () => {
    const c: ChatConfig = { ...config, commands: { brb: { cooldown_s: 0 }, live: { user_cooldown_s: 60 } } };
    const a = decide(msg('!brb'), c, EMPTY_COOLDOWNS, 0);
    expect(a.kind === 'run' && decide(msg('!brb'), c, a.cooldowns, 1).kind).toBe('run');
    const l = decide(msg('!live'), c, EMPTY_COOLDOWNS, 0);
    const l2 = decide(msg('!live'), c, l.kind === 'run' ? l.cooldowns : EMPTY_COOLDOWNS, 59_000);
    expect(l2).toMatchObject({ outcome: 'cooldown' });
  });

  it('sends one refusal notice per low-role user per 30 s, then stays silent', () => {
    const a = run('!brb', 'public', EMPTY_COOLDOWNS, 0);
    expect(a).toMatchObject({ outcome: 'denied_role', reply: '@viewer1 !brb needs moderator' });
    const b = run('!stop', 'public', a.state, 10_000);
    expect(b).toMatchObject({ outcome: 'denied_role', reply: null });
    expect(run('!stop', 'public', b.state, 30_000).reply).toBe('@viewer1 !stop needs broadcaster');
  });

  it('keeps the state small: expired windows are dropped', () => {
    let s = EMPTY_COOLDOWNS;
    for (let i = 0; i < 100; i++) s = run('!brb', 'moderator', s, i * 10_000).state;
    expect(Object.keys(s.until).length).toBeLessThanOrEqual(2);
  });
});

describe('help', () => {
  it('lists only what the caller may use', () => {
    const pub = decide(msg('!telemy help', 'public'), config, EMPTY_COOLDOWNS, 0);
    const mod = decide(msg('!telemy', 'moderator'), config, EMPTY_COOLDOWNS, 0);
    expect(pub.kind === 'run' && pub.help).toBe('you can use: !status !bitrate !sourceinfo !telemy help');
    expect(mod.kind === 'run' && mod.help).toContain('!brb');
    expect(mod.kind === 'run' && mod.help).not.toContain('!stop');
  });
});

describe('execution through ChatActions', () => {
  async function go(text: string, actions = new FakeChatActions(), role: Role = 'broadcaster') {
    const m = msg(text, role);
    const d = decide(m, config, EMPTY_COOLDOWNS, 0);
    if (d.kind !== 'run') throw new Error(`not run: ${JSON.stringify(d)}`);
    return { result: await execute(d, m, actions, 'req-1'), actions };
  }

  it('maps commands to the dock/CLI paths', async () => {
    const cases: Array<[string, string, unknown[]]> = [
      ['!live', 'explicitIntent', ['LIVE']],
      ['!low', 'explicitIntent', ['LOW']],
      ['!brb', 'explicitIntent', ['BRB']],
      ['!offline', 'explicitIntent', ['OFFLINE']],
      ['!switch priv', 'switchToScene', ['PRIVACY']],
      ['!privacy', 'switchToScene', ['PRIVACY']],
      ['!starting', 'switchToScene', ['Starting Soon']],
      ['!ending', 'switchToScene', ['Thanks']],
      ['!auto off', 'setSetting', ['auto_scene_switch', false]],
      ['!override on', 'setSetting', ['manual_override', true]],
      ['!trigger 1000', 'setThreshold', ['low_bitrate_kbps', 1000]],
      ['!otrigger 100', 'setThreshold', ['offline_bitrate_kbps', 100]],
      ['!rtrigger 3000', 'setThreshold', ['low_rtt_ms', 3000]],
      ['!irl on', 'irl', [true]],
      ['!fix', 'fixMediaSources', []],
      ['!refresh', 'refreshFeedSource', []],
      ['!notify on', 'setNotify', [true]],
      ['!prefix ?', 'setPrefix', ['?']],
      ['!start', 'startStream', []],
      ['!stop', 'stopStream', []],
      ['!record', 'toggleRecord', []],
      ['!alias pause brb', 'setAlias', ['pause', 'brb']],
      ['!status', 'status', []],
      ['!bitrate', 'bitrates', []],
      ['!sourceinfo', 'sourceInfo', []],
      ['!obsinfo', 'obsInfo', []],
    ];
    for (const [text, method, args] of cases) {
      const { result, actions } = await go(text);
      expect(result.outcome, text).toBe('accepted');
      expect(actions.calls.at(-1), text).toMatchObject({ method, args });
    }
  });

  it('passes the source with the request id to the engine', async () => {
    const { actions } = await go('!brb');
    expect(actions.calls[0]?.source).toEqual({
      kind: 'chat',
      platform: 'twitch',
      user_name: 'streamer',
      request_id: 'req-1',
    });
  });

  it('shows a threshold without an argument and changes nothing', async () => {
    const { result, actions } = await go('!rtrigger');
    expect(result).toMatchObject({ outcome: 'accepted', reply: '@streamer RTT trigger is 2500 ms' });
    expect(actions.mutations()).toEqual([]);
    expect((await go('!trigger')).result.reply).toBe('@streamer low-bitrate trigger is 800 kb/s');
  });

  it('confirms changes in words with units', async () => {
    const replies: Array<[string, string]> = [
      ['!trigger 500', 'low-bitrate trigger set to 500 kb/s'],
      ['!otrigger 150', 'offline-bitrate trigger set to 150 kb/s'],
      ['!rtrigger 3000', 'RTT trigger set to 3000 ms'],
      ['!auto off', 'automatic switching off'],
      ['!override on', 'manual override on'],
      ['!notify on', 'automatic switches will be announced in chat'],
      ['!notify off', 'automatic switches will not be announced'],
      ['!prefix ?', 'commands now start with ?, e.g. ?telemy help'],
    ];
    for (const [text, reply] of replies) {
      expect((await go(text)).result, text).toMatchObject({
        outcome: 'accepted',
        reply: `@streamer ${reply}`,
      });
    }
  });

  it('keeps the reason when a setting could not be saved', async () => {
    const a = new FakeChatActions();
    a.saveFails = true;
    expect((await go('!notify on', a)).result).toMatchObject({
      outcome: 'failed',
      reply: '@streamer could not save the announcement setting',
    });
    expect((await go('!prefix ~', a)).result).toMatchObject({
      outcome: 'failed',
      reply: '@streamer could not save the prefix',
    });
  });

  it('answers the readouts with what the engine reports', async () => {
    expect((await go('!sourceinfo', undefined, 'public')).result.reply).toMatch(
      /^@viewer1 phone: normal, 4200 kb\/s/,
    );
    expect((await go('!obsinfo', undefined, 'moderator')).result.reply).toMatch(/^@mod1 OBS live/);
  });

  it('confirms the matched scene and refuses an ambiguous or unknown one without switching', async () => {
    const a = new FakeChatActions();
    a.scenes = ['LIVE', 'BRB', 'PRIVACY', 'Private Cam'];
    expect((await go('!switch priv', a)).result).toMatchObject({
      outcome: 'failed',
      reply: '@streamer which one: PRIVACY, Private Cam?',
    });
    expect((await go('!switch zzzzzz', a)).result).toMatchObject({ outcome: 'failed', detail: 'no_match' });
    expect((await go('!switch privacy', a)).result).toMatchObject({
      outcome: 'accepted',
      reply: '@streamer switched to PRIVACY',
    });
    expect(a.mutations().map((c) => c.args[0])).toEqual(['PRIVACY']);
  });

  it('reports guard refusals as blocked_by_guard', async () => {
    const a = new FakeChatActions();
    a.guard = 'scene_path';
    expect((await go('!brb', a)).result).toMatchObject({
      outcome: 'blocked_by_guard',
      detail: 'scene_path',
      reply: '@streamer could not switch to BRB: the scene path to OBS is not ready',
    });
  });

  it('turns a throwing action into failed with one short reply', async () => {
    const a = new FakeChatActions();
    a.explicitIntent = async () => {
      throw new Error('obs gone');
    };
    expect((await go('!live', a)).result).toEqual({
      outcome: 'failed',
      detail: 'obs gone',
      reply: '@streamer live failed',
    });
  });
});

describe('property: no input throws', () => {
  const platform = fc.constantFrom<Platform>('twitch', 'kick', 'youtube');
  const flags = fc.record({ broadcaster: fc.boolean(), moderator: fc.boolean(), vip: fc.boolean() });
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 700 }),
    fc
      .tuple(
        fc.constantFrom('!', '\uff01', '\ufe57', '?', ' !'),
        fc.constantFrom(...COMMAND_NAMES, 'x'),
        fc.string({ unit: 'binary' }),
      )
      .map(([p, c, rest]) => `${p}${c}${rest}`),
  );

  it('decide() never throws and always returns a verdict', () => {
    fc.assert(
      fc.property(
        text,
        platform,
        flags,
        fc.string({ maxLength: 20 }),
        fc.integer({ min: 0, max: 1e12 }),
        (t, p, f, user, now) => {
          const d = decide(
            { platform: p, channel: 'c', user_id: user, user_name: user, flags: f, text: t },
            config,
            EMPTY_COOLDOWNS,
            now,
          );
          expect(['ignore', 'refuse', 'run']).toContain(d.kind);
          if (d.kind === 'refuse' && d.reply) expect(d.reply.length).toBeLessThanOrEqual(300);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('execute() never rejects, even when every action throws', async () => {
    const throwing = new Proxy(new FakeChatActions(), {
      get: () => async () => {
        throw new Error('boom');
      },
    });
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const m = msg(t, 'broadcaster');
        const d = decide(m, config, EMPTY_COOLDOWNS, 0);
        if (d.kind !== 'run') return;
        const r = await execute(d, m, throwing, 'r');
        expect(['accepted', 'failed', 'blocked_by_guard']).toContain(r.outcome);
      }),
      { numRuns: 500 },
    );
  });
});

describe('settings changed from chat apply from the next message', () => {
  function bridgeWith(actions: FakeChatActions, cfg: ChatConfig = config) {
    let clock = 0;
    const bridge = new ChatBridge({
      config: cfg,
      actions,
      getSecret: async () => null,
      audit: null,
      adapters: () => [],
      now: () => {
        clock += 10_000;
        return clock;
      },
      log: createLogger('chat-test', { level: 'silent' }),
    });
    return bridge;
  }

  it('!prefix switches the prefix the pipeline listens for', async () => {
    const bridge = bridgeWith(new FakeChatActions());
    expect(await bridge.handle(msg('!prefix ~', 'admin'))).toMatchObject({ outcome: 'accepted' });
    expect(bridge.currentConfig().prefix).toBe('~');
    expect(await bridge.handle(msg('!brb'))).toBeNull();
    expect(await bridge.handle(msg('~brb'))).toMatchObject({ command: 'brb', outcome: 'accepted' });
  });

  it('!notify turns the announcements of automatic switches on and off', async () => {
    const bridge = bridgeWith(new FakeChatActions());
    await bridge.handle(msg('!notify on'));
    expect(bridge.currentConfig().announce_auto_switch).toBe(true);
    await bridge.handle(msg('!notify off'));
    expect(bridge.currentConfig().announce_auto_switch).toBe(false);
  });

  it('keeps the old values when the config writer refused them', async () => {
    const actions = new FakeChatActions();
    actions.saveFails = true;
    const bridge = bridgeWith(actions);
    expect(await bridge.handle(msg('!prefix ~', 'admin'))).toMatchObject({ outcome: 'failed' });
    expect(await bridge.handle(msg('!notify on'))).toMatchObject({ outcome: 'failed' });
    expect(bridge.currentConfig()).toMatchObject({ prefix: '!', announce_auto_switch: false });
  });
});
