import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KickStub } from '../../../test/support/chat-stubs/kick-stub.js';
import { type ObsHandle, startObs } from '../../../test/support/obs-harness.js';
import { telemySync, writeConfig } from '../../../test/support/telemy-process.js';

const BIN = path.resolve(import.meta.dirname, '../bin/telemy.js');
const OBS_PORT = 44810;
const FIXTURES = path.resolve(import.meta.dirname, '../../engine/test/sources/fixtures');

function doctor(home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'doctor'], {
      env: { ...process.env, TELEMY_HOME: home, TELEMY_OBS_PORT: String(OBS_PORT) },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let obs: ObsHandle;
beforeAll(async () => {
  // No password, and no OFFLINE scene.
  obs = await startObs({ port: OBS_PORT, password: null, scenes: ['LIVE', 'LOW', 'BRB'] });
});
afterAll(async () => {
  await obs?.stop();
});

describe('telemy doctor against a real OBS, before Telemy ever ran', () => {
  it('says authentication is off, fails the missing role scene by name, and creates nothing', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'telemy-doctor-'));
    const r = await doctor(home);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^ok\\s+obs\\s+ws://127\\.0\\.0\\.1:${OBS_PORT} reachable, obs-websocket \\S+, authentication off`,
        'm',
      ),
    );
    expect(r.stdout).toMatch(/^ok\s+scene LIVE\s+'LIVE' exists in OBS$/m);
    expect(r.stdout).toMatch(/^ok\s+scene BRB\s+'BRB' exists in OBS$/m);
    expect(r.stdout).toMatch(/^FAIL\s+scene OFFLINE\s+'OFFLINE' does not exist in OBS/m);
    expect(r.stdout).toMatch(
      new RegExp(`^ok\\s+vault\\s+${path.join(home, 'vault.json')} not created yet`, 'm'),
    );
    expect(readdirSync(home)).toEqual([]);
  });
});

describe('telemy doctor with feed sources and a chat platform', () => {
  it('reads each source with its module, checks the inputs sources name in OBS, and validates the chat token with the platform', async () => {
    const kick = await new KickStub({ tokens: ['kick-good'] }).start();
    try {
      const home = mkdtempSync(path.join(tmpdir(), 'telemy-doctor-'));
      const stats = path.join(home, 'srt-stats.json');
      copyFileSync(path.join(FIXTURES, 'srt-live-transmit.jsonl'), stats);
      const client = await obs.client();
      await client.call('CreateInput', {
        sceneName: 'LIVE',
        inputName: 'Phone',
        inputKind: 'ffmpeg_source',
        inputSettings: { is_local_file: false, input: 'udp://127.0.0.1:9' },
      });
      writeConfig(
        home,
        [
          '[[sources]]',
          'name = "phone"',
          'type = "srt_live_transmit"',
          `stats_file = "${stats}"`,
          'input = "Phone"',
          '[[sources]]',
          'name = "cam"',
          'type = "obs_media_source"',
          'input = "Missing"',
          '[chat.kick]',
          'channel = "streamer"',
          'bot_user = "mybot"',
          `api_host = "${kick.httpUrl}"`,
          'token_key = "kick_token"',
          '',
        ].join('\n'),
      );
      expect(telemySync(['vault', 'set', 'kick_token'], { home, input: 'kick-good\n' }).status).toBe(0);
      const r = await doctor(home);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toMatch(
        /^ok\s+source phone\s+srt_live_transmit: the last stats line parses: feed connected/m,
      );
      expect(r.stdout).toMatch(/^ok\s+source phone\s+picture: 'Phone' exists in OBS$/m);
      expect(r.stdout).toMatch(/^FAIL\s+source cam\s+obs_media_source: 'Missing' is no source in OBS/m);
      expect(r.stdout).toMatch(/^ok\s+chat kick token\s+Kick accepts the pasted token of telemybot$/m);
      expect(r.stdout).toMatch(/^warn\s+config\s+.*chat\.kick\.bot_user does nothing and can be deleted/m);
      expect(r.stdout).not.toContain('kick-good');
      expect(kick.posted).toEqual([]);
    } finally {
      await kick.close();
    }
  });
});
