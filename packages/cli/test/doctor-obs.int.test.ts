import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObsHandle, startObs } from '../../../test/support/obs-harness.js';

const BIN = path.resolve(import.meta.dirname, '../bin/telemy.js');
const OBS_PORT = 44810;

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
