import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchTelemy, setSecrets, toml, writeEngineConfig } from '../support/engine-run.js';
import { newTelemyHome, telemySync } from '../support/telemy-process.js';

/**
 * One corrupted vault entry fails alone, through the real `telemy` CLI: the key is verified by the
 * vault's key check, not by its first secret, so `vault get` of the others, `list`, `set` and `delete`
 * keep working, and `telemy engine` starts.
 */

const ENGINE_PORT = 7251;
const NO_OBS_PORT = 44789;

let home: string;
let vaultFile: string;

/** Flips one bit of an entry's ciphertext in the vault file, as a bad disk block or a stray edit would. */
function corrupt(name: string): void {
  const json = JSON.parse(readFileSync(vaultFile, 'utf8'));
  const ct = Buffer.from(json.entries[name].ct, 'base64');
  ct[0] = (ct[0] ?? 0) ^ 0x01;
  json.entries[name].ct = ct.toString('base64');
  writeFileSync(vaultFile, JSON.stringify(json, null, 2));
}

const set = (name: string, value: string) => setSecrets(home, { [name]: value });

beforeAll(() => {
  home = newTelemyHome();
  vaultFile = path.join(home, 'vault.json');
  // The entry the probe corrupted is the first one in the file.
  set('twitch_token', 'chat-token-1111');
  set('obs_password', 'obs-password-2222');
  set('cloud_api_key', 'tmk_api_key_3333');
  expect(Object.keys(JSON.parse(readFileSync(vaultFile, 'utf8')).entries)[0]).toBe('twitch_token');
  corrupt('twitch_token');
});

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('telemy vault with a corrupted first entry', () => {
  it('get of another entry works; get of the corrupted one fails naming it', () => {
    const other = telemySync(['vault', 'get', 'obs_password'], { home });
    expect(other.status, other.stderr).toBe(0);
    expect(other.stdout).toBe('obs-password-2222\n');

    const bad = telemySync(['vault', 'get', 'twitch_token'], { home });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('vault entry "twitch_token" is corrupted');
    expect(bad.stderr).toContain('telemy vault set twitch_token');
    expect(bad.stderr).not.toContain('does not open');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('list shows every name and marks the corrupted one', () => {
    const r = telemySync(['vault', 'list'], { home });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'cloud_api_key',
      'obs_password',
      'twitch_token (corrupted: `telemy vault set twitch_token` to replace it)',
    ]);
  });

  it('the engine starts', async () => {
    writeEngineConfig(home, { obsPort: NO_OBS_PORT, enginePort: ENGINE_PORT }, toml.cloudOff);
    const { telemy } = await launchTelemy('engine', { home, timeoutMs: 60_000 });
    await telemy.stop();
  });

  it('set replaces the corrupted entry, the others are unchanged', () => {
    set('twitch_token', 'chat-token-new');
    expect(telemySync(['vault', 'get', 'twitch_token'], { home }).stdout).toBe('chat-token-new\n');
    expect(telemySync(['vault', 'get', 'cloud_api_key'], { home }).stdout).toBe('tmk_api_key_3333\n');
  });

  it('delete removes a corrupted entry, the others stay', () => {
    corrupt('obs_password');
    const r = telemySync(['vault', 'delete', 'obs_password'], { home });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('deleted obs_password\n');
    expect(telemySync(['vault', 'list'], { home }).stdout).toBe(
      'cloud_api_key\nlocal_access_token\ntwitch_token\n',
    );
    expect(telemySync(['vault', 'get', 'twitch_token'], { home }).stdout).toBe('chat-token-new\n');
  });

  it('doctor reports a corrupted OBS password as one FAIL line and checks OBS without it', () => {
    set('obs_password', 'obs-password-5555');
    corrupt('obs_password');
    const r = telemySync(['doctor', '--timeout', '500', '--config', path.join(home, 'config.toml')], {
      home,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('entry "obs_password" is corrupted');
    expect(r.stdout).toContain('telemy vault set obs_password');
    expect(r.stdout).toMatch(/obs/i);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);
  });
});
