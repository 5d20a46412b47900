import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toml } from '../support/engine-run.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { type SrtPublisher, startFfmpegPublisher } from '../support/srt.js';
import {
  AUTOMATION_WITHOUT_STREAM,
  eventually,
  newTelemyHome,
  QUICK_RELAY_ENV,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../support/telemy-process.js';

/**
 * Issue 7's IRL scenario end to end: real headless OBS, `telemy start` (shim + engine) with the
 * embedded control plane (the engine's child process) and the local relay provider, real `telemy
 * relay` processes, real SRT (ffmpeg as the phone, OBS's media source pulling the relay's egress).
 */

const OBS_PORT = 44750;
const ENGINE_PORT = 7220;
const OBS_PASSWORD = 'irl-e2e-obs-password';
const RELAY_SOURCE = 'Telemy Relay';
const base = `http://127.0.0.1:${ENGINE_PORT}`;

/** Short relay timings shared by both runs (the relay agents inherit them through the provider). */
const RELAY_ENV = {
  ...QUICK_RELAY_ENV,
  // Engine + embedded control plane start slowly when the whole suite loads a 2-core machine.
  TELEMY_ENGINE_STARTUP_WINDOW_MS: '60000',
  // The phone (ffmpeg) encodes on the same loaded machine: starved for a moment it leaves gaps
  // longer than the 300 ms default stall window, each a real BRB. The scenario is about the flow;
  // the default timings are measured by scripts/bench/irl.ts.
  TELEMY_RELAY_STALL_AFTER_MS: '1000',
};

interface SessionJson {
  session_id: string;
  status: string;
  relay: { instance_id: string | null; egress_port: number | null };
  ingest: { srt_url: string | null; obs_source_url: string | null };
  usage: { started_at: string; ended_at: string | null; duration_seconds: number };
}

interface ApiState {
  engine: { mode: string };
  obs: { connection: string; currentScene: string | null };
  cloud: {
    control_plane: { reachable: boolean | null };
    session: { session_id: string; status: string } | null;
    telemetry: { connected: boolean };
    time_bank: { consumed_seconds: number } | null;
  } | null;
  events: { at_ms: number; kind: string; data?: Record<string, unknown> }[];
}

let obs: ObsHandle;
let home: string;
let configFile: string;
let telemy: TelemyProcess | null = null;
let token = '';
let phone: SrtPublisher | null = null;

async function engineState(): Promise<ApiState> {
  const r = await fetch(`${base}/api/state`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`/api/state answered ${r.status}`);
  return (await r.json()) as ApiState;
}

function cli(args: string[]): string {
  // The first start spawns the embedded control plane: `telemy cloud start` waits up to 100 s for it.
  const r = telemySync(['--config', configFile, 'cloud', ...args], { home, timeoutMs: 110_000 });
  if (r.status !== 0) throw new Error(`telemy cloud ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function relayDir(): string {
  return path.join(home, 'relays');
}

/** Every provisioning writes one relay log: the number of relays ever started for this home. */
function provisionCount(): number {
  if (!existsSync(relayDir())) return 0;
  return readdirSync(relayDir()).filter((f) => f.endsWith('.log')).length;
}

function registry(): { instance_id: string; session_id: string; pid: number }[] {
  try {
    return JSON.parse(readFileSync(path.join(relayDir(), 'local-relays.json'), 'utf8'));
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let runs = 0;
async function shutdown(): Promise<void> {
  if (telemy) writeFileSync(path.join(home, `telemy-start-${++runs}.log`), telemy.stderr());
  await telemy?.stop();
  telemy = null;
}

async function launch(env: Record<string, string>): Promise<void> {
  await shutdown();
  telemy = startTelemy(['--config', configFile, 'start'], { home, env: { ...RELAY_ENV, ...env } });
  token = (await telemy.waitFor(/dashboard: \S+\?token=(\S+)/, 90_000))[1] as string;
  await eventually(async () => (await engineState()).obs.connection === 'connected', 30_000, 200);
}

/** The engine process the shim supervises (child of the `telemy start` process). */
function enginePid(): number {
  const shim = telemy?.proc.pid;
  if (!shim) throw new Error('telemy start is not running');
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(shim)], { encoding: 'utf8' });
  const pids = out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
  if (pids.length !== 1) throw new Error(`expected one engine child of the shim, found ${pids.join(',')}`);
  return pids[0] as number;
}

/** The embedded control plane itself (address from the data folder, API key from the vault). */
async function controlPlane(route: string): Promise<Response> {
  const { url } = JSON.parse(readFileSync(path.join(home, 'cloud', 'embedded-control-plane.json'), 'utf8'));
  const apiKey = telemySync(['vault', 'get', 'cloud_api_key'], { home }).stdout.trim();
  const auth = await fetch(`${url}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: apiKey }),
  });
  const { cp_access_jwt } = (await auth.json()) as { cp_access_jwt: string };
  return fetch(`${url}/api/v1${route}`, {
    headers: {
      authorization: `Bearer ${cp_access_jwt}`,
      'x-aegis-client-version': '0.0.3',
      'x-aegis-client-platform': 'linux',
    },
  });
}

/** The session is active once the relay's first health report reached the control plane. */
async function relayActive(): Promise<void> {
  await eventually(async () => (await engineState()).cloud?.session?.status === 'active', 120_000, 250);
}

async function mode(want: string, timeoutMs: number): Promise<void> {
  await eventually(async () => (await engineState()).engine.mode === want, timeoutMs, 100);
}

async function scene(want: string, timeoutMs: number): Promise<number> {
  return (await eventually(async () => (await obs.currentScene()) === want, timeoutMs, 50)).elapsedMs;
}

function startPhone(srtUrl: string): void {
  phone = startFfmpegPublisher({ url: srtUrl, bitrateKbps: 1500, size: '320x180' });
}

beforeAll(async () => {
  obs = await startObs({ port: OBS_PORT, password: OBS_PASSWORD, scenes: ['LIVE', 'BRB', 'OFFLINE'] });
  home = newTelemyHome();
  configFile = writeConfig(
    home,
    [
      `[obs]\nport = ${OBS_PORT}`,
      `[server]\nport = ${ENGINE_PORT}`,
      toml.irlScenes,
      '[failover]\nrecover_after_ms = 1000\nlow_bitrate_kbps = 300\noffline_bitrate_kbps = 100',
      toml.relaySource,
      AUTOMATION_WITHOUT_STREAM,
      toml.cloudEmbedded,
      '',
    ].join('\n'),
  );
  expect(telemySync(['vault', 'set', 'obs_password'], { home, input: `${OBS_PASSWORD}\n` }).status).toBe(0);
}, 120_000);

afterAll(async () => {
  await phone?.stop();
  await shutdown();
  // A relay left behind by a failed assertion: stop its whole process group.
  for (const r of registry()) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await obs?.dispose();
});

describe('the IRL scenario with real OBS, telemy start (embedded) and real SRT', () => {
  it('start → relay up → phone → OBS media source → LIVE; phone drop → BRB → LIVE; engine crash resumes the session; stop ends usage', {
    timeout: 300_000,
  }, async () => {
    await launch({});
    expect(provisionCount()).toBe(0);

    const startedBefore = Date.now();
    expect(cli(['start'])).toMatch(/session ses_\S+ provisioning \(created\)/);
    await relayActive();
    const session = JSON.parse(cli(['active', '--json', '--reveal'])) as SessionJson;
    expect(session.status).toBe('active');
    expect(provisionCount()).toBe(1);
    const [relay] = registry();
    expect(relay?.session_id).toBe(session.session_id);
    expect(alive(relay?.pid ?? -1)).toBe(true);
    // Without --reveal the passphrases stay hidden.
    expect(cli(['active'])).toMatch(/passphrase=\*\*\*\*/);

    // The engine pointed OBS's relay media source at the relay's egress by itself.
    const ws = await obs.client();
    const settings = await eventually(async () => {
      const r = await ws.call('GetInputSettings', { inputName: RELAY_SOURCE }).catch(() => null);
      return r?.inputSettings.input === session.ingest.obs_source_url ? r : null;
    }, 20_000);
    expect(settings.value.inputKind).toBe('ffmpeg_source');

    startPhone(session.ingest.srt_url as string);
    await eventually(
      async () => {
        const st = await ws.call('GetMediaInputStatus', { inputName: RELAY_SOURCE });
        return st.mediaState === 'OBS_MEDIA_STATE_PLAYING';
      },
      30_000,
      200,
    );
    await mode('IRL_ACTIVE', 30_000);
    await scene('LIVE', 15_000);

    // The phone drops: the relay pushes the stall (after its 1 s window here) and the engine puts
    // BRB on air at once.
    await phone?.stop();
    const toBrb = await scene('BRB', 6_000);
    expect(toBrb).toBeLessThan(3_000);
    await mode('IRL_GRACE', 5_000);

    // The phone comes back: LIVE again, but only after the recovery window.
    const back = Date.now();
    startPhone(session.ingest.srt_url as string);
    await mode('IRL_ACTIVE', 30_000);
    await scene('LIVE', 30_000);
    expect(Date.now() - back).toBeGreaterThanOrEqual(1_000);

    // The engine crashes: the shim restarts it; reconnect-first resumes the same session, and the
    // stream stays on LIVE meanwhile (the relay source is unknown until its telemetry is back).
    const scenesAfterCrash: string[] = [];
    const onScene = (e: { sceneName: string }) => scenesAfterCrash.push(e.sceneName);
    ws.on('CurrentProgramSceneChanged', onScene);
    const crashed = enginePid();
    process.kill(crashed, 'SIGKILL');
    await eventually(() => !alive(crashed), 5_000);
    await eventually(async () => enginePid() !== crashed, 30_000, 200);
    await eventually(
      async () => (await engineState()).cloud?.session?.session_id === session.session_id,
      90_000,
      250,
    );
    await mode('IRL_ACTIVE', 30_000);
    await scene('LIVE', 15_000);
    ws.off('CurrentProgramSceneChanged', onScene);
    expect(scenesAfterCrash).not.toContain('BRB');
    expect(provisionCount()).toBe(1);
    expect(registry()).toHaveLength(1);
    expect(alive(relay?.pid ?? -1)).toBe(true);
    const resumed = (await engineState()).events.find(
      (e) => e.kind === 'mode_transition' && e.data?.trigger === 'session_restored',
    );
    expect(resumed).toBeDefined();
    expect((JSON.parse(cli(['active', '--json'])) as SessionJson).session_id).toBe(session.session_id);

    // Stop: the relay process goes away and the Time Bank charges the session's length (billed
    // from activation: the session's own duration_seconds, carried on to the stop).
    await phone?.stop();
    phone = null;
    const askedStart = Date.now();
    const live = (await (await controlPlane('/relay/active')).json()) as SessionJson;
    const askedEnd = Date.now();
    const stop = JSON.parse(cli(['stop', '--json'])) as { session_id: string; stopped_at: string };
    expect(stop.session_id).toBe(session.session_id);
    await eventually(() => !alive(relay?.pid ?? -1), 10_000);
    await eventually(() => registry().length === 0, 10_000);
    await mode('STUDIO', 10_000);
    expect(cli(['active'])).toMatch(/no active relay session/);
    expect(Date.parse(session.usage.started_at)).toBeGreaterThanOrEqual(startedBefore - 1_000);
    // The session's length (activation → stop) lies in [lo, hi]: `duration_seconds` is whole seconds
    // read at some instant between askedStart and askedEnd. Usage is that length in whole seconds.
    const stopMs = Date.parse(stop.stopped_at);
    const lo = live.usage.duration_seconds + (stopMs - askedEnd) / 1000;
    const hi = live.usage.duration_seconds + 1 + (stopMs - askedStart) / 1000;
    // Seconds of activity (phone, drop, engine restart): a charge of zero could not pass below.
    expect(lo).toBeGreaterThan(3);
    const usage = (await (await controlPlane('/usage/current')).json()) as { consumed_seconds: number };
    expect(usage.consumed_seconds).toBeGreaterThan(lo - 1);
    expect(usage.consumed_seconds).toBeLessThanOrEqual(hi);
    await shutdown();
  });

  it('the relay dies: IRL_GRACE, then STUDIO when the grace window runs out; no relay left behind', {
    timeout: 240_000,
  }, async () => {
    await launch({ TELEMY_CP_GRACE_WINDOW_S: '10', TELEMY_CP_HEALTH_SILENCE_GRACE_S: '3' });
    // The embedded control plane starts on the first IRL start, not with the engine.
    expect((await engineState()).cloud?.control_plane?.reachable).not.toBe(true);
    expect(cli(['start'])).toMatch(/\(created\)/);
    await relayActive();
    const session = JSON.parse(cli(['active', '--json', '--reveal'])) as SessionJson;
    expect(provisionCount()).toBe(2);
    const relay = registry().find((r) => r.session_id === session.session_id);
    expect(relay).toBeDefined();
    startPhone(session.ingest.srt_url as string);
    await mode('IRL_ACTIVE', 30_000);
    await scene('LIVE', 15_000);

    // The relay host dies (the agent and its srt-live-transmit children at once).
    process.kill(-(relay?.pid ?? 0), 'SIGKILL');
    await mode('IRL_GRACE', 5_000);
    await scene('BRB', 5_000);
    const graceAt = Date.now();
    await mode('STUDIO', 45_000);
    // Not before the control plane's 10 s grace window (plus its 3 s silence rule) ran out.
    expect(Date.now() - graceAt).toBeGreaterThanOrEqual(8_000);
    expect(provisionCount()).toBe(2);
    await eventually(() => registry().length === 0, 15_000);
    // The control plane's watchdog ends the session at its grace window; CloudLink learns it on its next poll.
    await eventually(() => /no active relay session/.test(cli(['active'])), 30_000, 1_000);
    await phone?.stop();
    phone = null;
    await shutdown();
  });
});
