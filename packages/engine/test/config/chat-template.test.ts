import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  KICK_DEFAULT_API_HOST,
  KICK_DEFAULT_HOST,
  KICK_DEFAULT_WEB_HOST,
} from '../../src/chat/adapters/kick.js';
import { TWITCH_DEFAULT_HOST } from '../../src/chat/adapters/twitch.js';
import { YOUTUBE_DEFAULT_HOST } from '../../src/chat/adapters/youtube.js';
import { OAUTH_PLATFORMS } from '../../src/chat/auth/platforms.js';
import { configSchema, defaultConfigText, loadConfig } from '../../src/config/index.js';
import { schemaAt } from '../../src/config/schema-walk.js';

/** The template with its commented `[chat.*]` tables (and their key lines) uncommented. */
function uncommentedChat(): string {
  const out: string[] = [];
  let inTable = false;
  for (const line of defaultConfigText().split('\n')) {
    if (/^# \[chat\./.test(line)) inTable = true;
    else if (!line.startsWith('# ') || /^# [A-Z]/.test(line)) inTable = false;
    const setting = inTable || /^# (privacy|starting|ending)_scene = /.test(line);
    out.push(setting ? line.replace(/^# /, '') : line);
  }
  return out.join('\n');
}

function shapeKeys(p: string[]): string[] {
  const s = schemaAt(configSchema, p) as unknown as {
    _zod: { def: { innerType?: { _zod: { def: { shape: object } } }; shape?: object } };
  };
  const d = s._zod.def;
  return Object.keys(d.shape ?? d.innerType?._zod.def.shape ?? {}).sort();
}

describe('config init: the [chat] section', () => {
  const raw = parse(uncommentedChat()) as { chat: Record<string, Record<string, unknown>> };

  it('shows every chat key, uncommented it is a valid config, and bot_user is gone', () => {
    const cfg = configSchema.parse(raw);
    const chat = raw.chat;
    expect(Object.keys(chat).sort()).toEqual(shapeKeys(['chat']));
    for (const platform of ['twitch', 'kick', 'youtube'] as const) {
      const want = shapeKeys(['chat', platform]).filter((k) => k !== 'bot_user');
      expect(Object.keys(chat[platform] ?? {}).sort(), platform).toEqual(want);
    }
    expect(Object.keys(chat.commands?.brb ?? {}).sort()).toEqual(shapeKeys(['chat', 'commands', 'brb']));
    expect(defaultConfigText()).not.toContain('bot_user');
    expect(cfg.chat.twitch?.channel).toBe('yourchannel');
  });

  it('shows each server and OAuth host at the value the adapters use when it is unset', () => {
    const c = raw.chat as Record<string, Record<string, unknown>>;
    expect(c.twitch?.host).toBe(TWITCH_DEFAULT_HOST);
    expect(c.kick?.host).toBe(KICK_DEFAULT_HOST);
    expect(c.kick?.api_host).toBe(KICK_DEFAULT_API_HOST);
    expect(c.kick?.web_host).toBe(KICK_DEFAULT_WEB_HOST);
    expect(c.youtube?.host).toBe(YOUTUBE_DEFAULT_HOST);
    for (const p of ['twitch', 'kick', 'youtube'] as const) {
      expect(c[p]?.auth_host).toBe(OAUTH_PLATFORMS[p].defaultAuthHost);
      expect(c[p]?.client_secret_key).toBe(`chat_${p}_client_secret`);
    }
  });
});

describe('[chat.<platform>] bot_user in an older file', () => {
  it('still loads, with one warning per platform naming the key and what replaces it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'telemy-cfg-'));
    const file = path.join(dir, 'config.toml');
    writeFileSync(
      file,
      'config_version = 3\n[chat.twitch]\nchannel = "me"\nbot_user = "mybot"\n[chat.kick]\nchannel = "me"\n',
    );
    const loaded = loadConfig({ configPath: file, env: {} });
    expect(loaded.config.chat.twitch?.channel).toBe('me');
    expect(loaded.warnings).toEqual([
      `${file}: chat.twitch.bot_user does nothing and can be deleted: the bot replies as the account signed in with \`telemy chat login twitch\` (or the pasted token's)`,
    ]);
  });
});
