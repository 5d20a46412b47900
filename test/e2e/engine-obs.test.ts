import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineApi } from '../support/engine-api.js';
import { launchTelemy, setSecrets, toml, writeEngineConfig } from '../support/engine-run.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { eventually, newTelemyHome, type TelemyProcess } from '../support/telemy-process.js';

/** Issue 2 end to end: `telemy engine` against a real headless OBS, through its HTTP surface. */

const OBS_PORT = 44590;
const ENGINE_PORT = 7181;
let obs: ObsHandle;
let engine: TelemyProcess;
const api = new EngineApi(ENGINE_PORT);

const state = () =>
  api.get<{ obs: { connection: string; scenes: string[]; currentScene: string | null } }>('/api/state');

beforeAll(async () => {
  obs = await startObs({ port: OBS_PORT, password: 'e2e-obs-password', scenes: ['LIVE', 'BRB'] });
  const home = newTelemyHome();
  writeEngineConfig(home, { obsPort: OBS_PORT, enginePort: ENGINE_PORT }, toml.cloudOff);
  setSecrets(home, { obs_password: 'e2e-obs-password' });
  ({ telemy: engine, token: api.token } = await launchTelemy('engine', { home }));
  await eventually(async () => (await state()).obs.connection === 'connected', 20_000);
});

afterAll(async () => {
  await engine?.stop();
  await obs?.dispose();
});

describe('telemy engine with a real OBS', () => {
  it('serves OBS scenes and the current scene in /api/state', async () => {
    const s = await state();
    expect(s.obs.scenes).toEqual(expect.arrayContaining(['LIVE', 'BRB']));
    expect(s.obs.currentScene).toBe(await obs.currentScene());
  });

  it('shows a scene created in OBS within 1 s, and a switch within 1 s', async () => {
    await obs.createScene('PRIVACY');
    const created = await eventually(async () => (await state()).obs.scenes.includes('PRIVACY'), 1000);
    expect(created.elapsedMs).toBeLessThanOrEqual(1000);
    await obs.setScene('BRB');
    const switched = await eventually(async () => (await state()).obs.currentScene === 'BRB', 1000);
    expect(switched.elapsedMs).toBeLessThanOrEqual(1000);
  });

  it('refuses /api/state without the token, with a JSON error', async () => {
    const r = await fetch(`${api.base}/api/state`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await fetch(`${api.base}/api/state`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('exposes /metrics that passes promtool check metrics', async () => {
    // Host ratios appear once two samples allow a delta (an unknown value is absent, never 0).
    const { value: text } = await eventually(async () => {
      const body = await api.metrics();
      return body.includes('telemy_system_cpu_ratio') ? body : null;
    }, 5000);
    expect(text).toMatch(/^telemy_obs_connected 1$/m);
    expect(text).toContain('telemy_system_cpu_ratio');
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(out).not.toMatch(/error/i);
  });
});
