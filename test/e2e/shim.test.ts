import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineApi, type EngineEvent } from '../support/engine-api.js';
import { launchTelemy, setSecrets, shimEngine, toml, writeEngineConfig } from '../support/engine-run.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { running } from '../support/procs.js';
import { type SrtFeed, startSrtFeed } from '../support/srt-feed.js';
import {
  AUTOMATION_WITHOUT_STREAM,
  eventually,
  newTelemyHome,
  type TelemyProcess,
} from '../support/telemy-process.js';

/**
 * Issue 5 end to end through `telemy start` (shim + engine) on a real OBS with a real SRT feed: the
 * engine decides, the shim switches OBS over its own obs-websocket session and acknowledges; an
 * orphaned engine is DEGRADED and silent; a crashed engine is restarted once, then reported.
 */

const OBS_PORT = 44601;
const ENGINE_PORT = 7191;
const PASSWORD = 'shim-e2e-pw';
const api = new EngineApi(ENGINE_PORT);

interface StateView {
  engine: { mode: string; uptime_s: number; scene_path: { via: string; ready: boolean } };
  feed: { health: string };
  events: EngineEvent[];
}

let obs: ObsHandle;
let feed: SrtFeed;
let home: string;
const started: TelemyProcess[] = [];
const orphans: number[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const state = () => api.get<StateView>('/api/state');

/** The engine process the shim spawned. */
const engineChild = (shim: TelemyProcess) => shimEngine(shim.proc.pid as number);

async function startShim(): Promise<TelemyProcess> {
  const { telemy: shim, token } = await launchTelemy('start', { home, timeoutMs: 60_000 });
  started.push(shim);
  api.token = token;
  await eventually(async () => {
    const s = await state();
    return s.engine.scene_path.via === 'ipc' && s.engine.scene_path.ready;
  }, 20_000);
  return shim;
}

beforeAll(async () => {
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['BRB', 'LIVE', 'LOW', 'OFFLINE'] });
  const dir = mkdtempSync(join(tmpdir(), 'telemy-shim-e2e-'));
  feed = await startSrtFeed({ port: 45110, sinkPort: 45111, dir });
  home = newTelemyHome();
  writeEngineConfig(
    home,
    { obsPort: OBS_PORT, enginePort: ENGINE_PORT },
    toml.cloudOff,
    '[failover]\nlow_bitrate_kbps = 800\noffline_bitrate_kbps = 200',
    AUTOMATION_WITHOUT_STREAM,
    toml.srtSource(feed.statsFile),
  );
  setSecrets(home, { obs_password: PASSWORD });
}, 90_000);

afterAll(async () => {
  for (const pid of orphans) if (running(pid)) process.kill(pid, 'SIGKILL');
  await Promise.all(started.map((p) => p.stop()));
  await feed?.stop();
  await obs?.dispose();
});

describe('telemy start: the shim executes the engine’s switches in OBS', () => {
  it('prints the dashboard line, and a failover decided by the engine is switched by the shim and acknowledged', async () => {
    const shim = await startShim();
    expect(shim.stdout()).toMatch(/dashboard: http:\/\/127\.0\.0\.1:7191\/\?token=\S+/);
    expect(shim.stdout()).toMatch(/switched by the shim over IPC/);

    feed.publish(2000);
    await eventually(async () => (await obs.currentScene()) === 'LIVE', 30_000);
    const killedAt = Date.now();
    await feed.kill();
    await eventually(async () => (await obs.currentScene()) === 'BRB', 5000);
    expect(Date.now() - killedAt).toBeLessThan(3000);
    // OBS shows the scene before the shim's acknowledgement has reached the engine.
    const { value: brb } = await eventually(
      async () =>
        (await state()).events.findLast((e) => e.kind === 'switch_result' && e.data.scene === 'BRB'),
      3000,
    );
    expect(brb?.data).toMatchObject({ result: 'ok', reason: 'auto_failover', rule: 'local_failover' });
    expect(brb?.request_id).toMatch(/\S/);
    // The shim logs every switch it executed in OBS with the engine's request id.
    expect(shim.stderr()).toContain(String(brb?.request_id));
  });

  it('with the shim gone the engine is DEGRADED and emits no switch while the feed changes', async () => {
    const shim = started[0] as TelemyProcess;
    const enginePid = engineChild(shim);
    expect(enginePid).not.toBeNull();
    orphans.push(enginePid as number);
    shim.proc.kill('SIGKILL');
    await eventually(async () => (await state()).engine.mode === 'DEGRADED', 10_000);
    expect((await state()).engine.scene_path.ready).toBe(false);

    const from = Date.now();
    feed.publish(2000);
    await eventually(async () => (await state()).feed.health === 'normal', 20_000);
    await sleep(2500);
    const s = await state();
    expect(s.engine.mode).toBe('DEGRADED');
    expect(s.events.filter((e) => e.kind === 'switch_result' && e.at_ms >= from)).toEqual([]);
    expect(await obs.currentScene()).toBe('BRB');
    process.kill(enginePid as number, 'SIGKILL');
    await eventually(() => !running(enginePid as number), 5000);
  });

  it('kill -9 the engine: restarted once and resumes; killed again: failure line and page, OBS untouched', async () => {
    const shim = await startShim();
    await eventually(async () => (await obs.currentScene()) === 'LIVE', 20_000);
    const first = engineChild(shim) as number;
    const saved = () =>
      JSON.parse(readFileSync(join(home, 'engine-state.json'), 'utf8')) as {
        counters: { failovers: number };
      };
    // The failover of the first engine is a lifetime count: every later engine must carry it over.
    const before = saved().counters.failovers;
    expect(before).toBeGreaterThanOrEqual(1);

    process.kill(first, 'SIGKILL');
    await eventually(() => /restarting it once/.test(shim.stderr()), 10_000).catch((err) => {
      throw new Error(`${err}\n${shim.stderr().slice(-4000)}`);
    });
    await eventually(async () => {
      const s = await state();
      return s.engine.scene_path.ready && s.engine.uptime_s < 30 ? s : null;
    }, 30_000);
    const second = engineChild(shim) as number;
    expect(second).not.toBe(first);
    // Resumed: the feed is still normal and LIVE still on air, nothing switched on restart.
    await sleep(1500);
    expect(await obs.currentScene()).toBe('LIVE');
    expect(saved().counters.failovers).toBeGreaterThanOrEqual(before);

    process.kill(second, 'SIGKILL');
    await eventually(() => /engine failed twice/.test(shim.stderr()), 10_000);
    const page = await eventually(async () => {
      const r = await fetch(`${api.base}/`);
      const text = await r.text();
      return /restart/i.test(text) ? { status: r.status, text } : null;
    }, 10_000);
    expect(page.value.text).toMatch(/telemy start/);
    await sleep(1000);
    expect(engineChild(shim)).toBeNull();
    expect(await obs.currentScene()).toBe('LIVE');
  });
});
