import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function load(body: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemy-cfg-chat-'));
  const file = path.join(dir, 'config.toml');
  writeFileSync(file, `config_version = 3\n${body}`);
  return loadConfig({ configPath: file, env: { TELEMY_HOME: dir, ...env }, cwd: dir });
}

describe('[chat] scene shortcuts and the commands chat may save', () => {
  it('are unset by default, so !privacy, !starting and !ending are not set up', () => {
    const { chat } = load('').config;
    expect(chat.privacy_scene).toBeUndefined();
    expect(chat.starting_scene).toBeUndefined();
    expect(chat.ending_scene).toBeUndefined();
  });

  it('take scene names from the file or the environment', () => {
    const { chat } = load('[chat]\nprivacy_scene = "PRIVACY"\n', {
      TELEMY_CHAT_STARTING_SCENE: 'Starting Soon',
      TELEMY_CHAT_ENDING_SCENE: 'Thanks',
    }).config;
    expect(chat).toMatchObject({
      privacy_scene: 'PRIVACY',
      starting_scene: 'Starting Soon',
      ending_scene: 'Thanks',
    });
  });

  it('refuse an empty scene name, naming the key', () => {
    let lines: string[] = [];
    try {
      load('[chat]\nending_scene = ""\n');
    } catch (err) {
      if (err instanceof ConfigError) lines = err.lines;
    }
    expect(lines.some((l) => l.includes('chat.ending_scene'))).toBe(true);
  });

  it('accept per-command policies for the new commands', () => {
    const { chat } = load(
      '[chat.commands.obsinfo]\nrole = "public"\n[chat.commands.refresh]\ncooldown_s = 30\n',
    ).config;
    expect(chat.commands).toMatchObject({ obsinfo: { role: 'public' }, refresh: { cooldown_s: 30 } });
  });
});
