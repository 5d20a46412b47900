/**
 * IRL benchmark on real OBS with `telemy start` in embedded mode (issue 7, "Figures"):
 *  1. failover latency: the phone (ffmpeg) is killed → OBS reports the BRB scene
 *     (`CurrentProgramSceneChanged` on a separate obs-websocket client), N trials;
 *  2. start latency: `POST /api/relay/start` (what `telemy cloud start` calls in embedded mode) →
 *     the engine's mode transition to IRL_ACTIVE, with the local provider.
 *
 * Usage: node --import tsx scripts/bench/irl.ts [failover trials = 20] [start trials = 5] [srt latency ms = 20]
 *   [OBS transition = OBS's default, Fade 300 ms; e.g. Cut]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { type ObsHandle, startObs } from '../../test/support/obs-harness.js';
import { type SrtPublisher, startFfmpegPublisher } from '../../test/support/srt.js';
import {
  eventually,
  newTelemyHome,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../../test/support/telemy-process.js';

const FAILOVER_TRIALS = Number(process.argv[2] ?? 20);
const START_TRIALS = Number(process.argv[3] ?? 5);
const SRT_LATENCY_MS = Number(process.argv[4] ?? 20);
const TRANSITION = process.argv[5] ?? null;
const STALL_AFTER_MS = 300;
const OBS_PORT = 44760;
const ENGINE_PORT = 7225;
const PASSWORD = 'irl-bench-obs-password';
const base = `http://127.0.0.1:${ENGINE_PORT}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let token = '';
async function api(route: string, method: 'GET' | 'POST' = 'GET'): Promise<unknown> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

interface State {
  engine: { mode: string };
  cloud: { control_plane: { reachable: boolean | null }; session: { status: string } | null } | null;
  events: { at_ms: number; kind: string; data?: { to?: string } }[];
}
const state = () => api('/api/state') as Promise<State>;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `| ${s.length} | ${Math.round(pct(s, 50))} | ${Math.round(pct(s, 95))} | ${Math.round(s[s.length - 1] as number)} |`;
}

let obs: ObsHandle | null = null;
let telemy: TelemyProcess | null = null;
let phone: SrtPublisher | null = null;
try {
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'BRB', 'OFFLINE'] });
  const home = newTelemyHome();
  const configFile = writeConfig(
    home,
    [
      `[obs]\nport = ${OBS_PORT}`,
      `[server]\nport = ${ENGINE_PORT}`,
      '[scenes]\nlive = "LIVE"\nlow = ""\nbrb = "BRB"\noffline = "OFFLINE"',
      '[failover]\nrecover_after_ms = 1000\nlow_bitrate_kbps = 300\noffline_bitrate_kbps = 100',
      '[[sources]]\nname = "relay"\ntype = "relay"',
      '[cloud]\nmode = "embedded"',
      '',
    ].join('\n'),
  );
  telemySync(['vault', 'set', 'obs_password'], { home, input: `${PASSWORD}\n` });
  telemy = startTelemy(['--config', configFile, 'start'], {
    home,
    env: {
      TELEMY_RELAY_STALL_AFTER_MS: String(STALL_AFTER_MS),
      TELEMY_RELAY_INGEST_LATENCY_MS: String(SRT_LATENCY_MS),
      TELEMY_ENGINE_STARTUP_WINDOW_MS: '60000',
    },
  });
  token = (await telemy.waitFor(/dashboard: \S+\?token=(\S+)/, 120_000))[1] as string;
  await eventually(async () => (await state()).cloud?.control_plane.reachable === true, 120_000, 250);

  // 2. start → IRL_ACTIVE (each trial a fresh relay: stop, wait for studio, start again).
  const startMs: number[] = [];
  for (let i = 0; i < START_TRIALS; i++) {
    const t0 = Date.now();
    await api('/api/relay/start', 'POST');
    const active = await eventually(
      async () => {
        const e = (await state()).events.find(
          (x) => x.kind === 'mode_transition' && x.data?.to === 'IRL_ACTIVE' && x.at_ms >= t0,
        );
        return e ?? null;
      },
      120_000,
      20,
    );
    startMs.push(active.value.at_ms - t0);
    process.stderr.write(`start trial ${i + 1}: ${active.value.at_ms - t0} ms\n`);
    if (i < START_TRIALS - 1) {
      await api('/api/relay/stop', 'POST');
      await eventually(async () => (await state()).engine.mode === 'STUDIO', 30_000, 100);
    }
  }

  // 1. failover: phone killed → OBS on BRB.
  const session = (await api('/api/relay?reveal=true')) as { session: { ingest: { srt_url: string } } };
  const phoneUrl = session.session.ingest.srt_url;
  const ws = await obs.client();
  if (TRANSITION) await ws.call('SetCurrentSceneTransition', { transitionName: TRANSITION });
  const transition = (await ws.call('GetCurrentSceneTransition')) as {
    transitionName: string;
    transitionDuration: number | null;
  };
  let lastScene = '';
  let lastSceneAt = 0;
  ws.on('CurrentProgramSceneChanged', (d) => {
    lastScene = d.sceneName;
    lastSceneAt = performance.now();
  });
  const failoverMs: number[] = [];
  const killedWall: number[] = [];
  for (let i = 0; i < FAILOVER_TRIALS; i++) {
    phone = startFfmpegPublisher({ url: phoneUrl, bitrateKbps: 1500, size: '320x180' });
    await eventually(() => lastScene === 'LIVE', 60_000, 10);
    await sleep(1000);
    const killedAt = performance.now();
    killedWall.push(Date.now());
    await phone.stop();
    phone = null;
    await eventually(() => lastScene === 'BRB' && lastSceneAt >= killedAt, 30_000, 5);
    failoverMs.push(lastSceneAt - killedAt);
    process.stderr.write(`failover trial ${i + 1}: ${Math.round(lastSceneAt - killedAt)} ms\n`);
    // The relay gives the silent link a fresh listener after relisten_after_stall_ms (1.5 s).
    await sleep(2000);
  }
  await api('/api/relay/stop', 'POST');

  // Where the time goes, from the engine's own log: kill → BRB intent (relay stall pushed and
  // evaluated) and BRB intent → OBS reporting the scene.
  const intents = telemy
    .stderr()
    .split('\n')
    .filter(
      (l) =>
        l.includes('"intent":"BRB"') && l.includes('"rule":"cloud_signal"') && l.includes('"kind":"intent"'),
    )
    .map((l) => (JSON.parse(l) as { time: number }).time);
  const detectMs: number[] = [];
  const switchMs: number[] = [];
  killedWall.forEach((k, i) => {
    const at = intents.find((t) => t >= k);
    if (at === undefined) return;
    detectMs.push(at - k);
    switchMs.push((failoverMs[i] as number) - (at - k));
  });

  const srt = spawnSync('srt-live-transmit', ['-version'], { encoding: 'utf8' });
  const srtVersion =
    `${srt.stdout}${srt.stderr}`.match(/SRT Library version: [\d.]+/)?.[0] ?? 'SRT version unknown';
  process.stdout.write(
    [
      `date: ${new Date().toISOString()}; ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${srtVersion}`,
      `stall_after_ms = ${STALL_AFTER_MS}; relay ingest SRT latency = ${SRT_LATENCY_MS} ms; OBS transition ${transition.transitionName}${transition.transitionDuration ? ` ${transition.transitionDuration} ms` : ''}`,
      '',
      '| figure | trials | p50 ms | p95 ms | max ms |',
      '|---|---|---|---|---|',
      `| phone killed → OBS reports BRB ${summary(failoverMs)}`,
      `| … of which kill → BRB intent in the engine ${summary(detectMs)}`,
      `| … of which BRB intent → OBS reports BRB ${summary(switchMs)}`,
      `| start request → IRL_ACTIVE (local provider) ${summary(startMs)}`,
      '',
      `failover samples: ${failoverMs.map((x) => Math.round(x)).join(', ')}`,
      `start samples: ${startMs.join(', ')}`,
      '',
    ].join('\n'),
  );
} finally {
  await phone?.stop();
  await telemy?.stop();
  await obs?.dispose();
}
