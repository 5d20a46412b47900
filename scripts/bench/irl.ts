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
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ObsHandle, startObs } from '../../test/support/obs-harness.js';
import { type SrtPublisher, startFfmpegPublisher } from '../../test/support/srt.js';
import { AUTOMATION_WITHOUT_STREAM, eventually } from '../../test/support/telemy-process.js';
import { type BenchEngine, startEngine } from './lib/engine.js';
import { sceneLog, useTransition } from './lib/obs.js';
import { latencyRow } from './lib/report.js';

const FAILOVER_TRIALS = Number(process.argv[2] ?? 20);
const START_TRIALS = Number(process.argv[3] ?? 5);
const SRT_LATENCY_MS = Number(process.argv[4] ?? 20);
const TRANSITION = process.argv[5] ?? null;
const STALL_AFTER_MS = 300;
const OBS_PORT = 44760;
const ENGINE_PORT = 7225;
const PASSWORD = 'irl-bench-obs-password';

interface State {
  engine: { mode: string };
  cloud: { control_plane: { reachable: boolean | null }; session: { status: string } | null } | null;
  events: { at_ms: number; kind: string; data?: { to?: string } }[];
}

let obs: ObsHandle | null = null;
let telemy: BenchEngine | null = null;
let phone: SrtPublisher | null = null;
try {
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'BRB', 'OFFLINE'] });
  telemy = await startEngine({
    command: 'start',
    obsPort: OBS_PORT,
    port: ENGINE_PORT,
    toml: [
      '[scenes]\nlive = "LIVE"\nlow = ""\nbrb = "BRB"\noffline = "OFFLINE"',
      '[failover]\nrecover_after_ms = 1000\nlow_bitrate_kbps = 300\noffline_bitrate_kbps = 100',
      '[[sources]]\nname = "relay"\ntype = "relay"',
      '[cloud]\nmode = "embedded"',
      // OBS does not stream here: without this, automation would hold every switch.
      AUTOMATION_WITHOUT_STREAM,
    ],
    secrets: { obs_password: PASSWORD },
    env: {
      TELEMY_RELAY_STALL_AFTER_MS: String(STALL_AFTER_MS),
      TELEMY_RELAY_INGEST_LATENCY_MS: String(SRT_LATENCY_MS),
      TELEMY_ENGINE_STARTUP_WINDOW_MS: '60000',
    },
  });
  const engine = telemy;
  const state = () => engine.get<State>('/api/state');
  await eventually(async () => (await state()).cloud?.control_plane.reachable === true, 120_000, 250);

  // 2. start → IRL_ACTIVE (each trial a fresh relay: stop, wait for studio, start again).
  const startMs: number[] = [];
  for (let i = 0; i < START_TRIALS; i++) {
    const t0 = Date.now();
    await engine.post('/api/relay/start');
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
      await engine.post('/api/relay/stop');
      await eventually(async () => (await state()).engine.mode === 'STUDIO', 30_000, 100);
    }
  }

  // 1. failover: phone killed → OBS on BRB.
  const session = await engine.get<{ session: { ingest: { srt_url: string } } }>('/api/relay?reveal=true');
  const phoneUrl = session.session.ingest.srt_url;
  const ws = await obs.client();
  const transition = await useTransition(ws, TRANSITION);
  const scenes = sceneLog(ws);
  const failoverMs: number[] = [];
  const killedWall: number[] = [];
  for (let i = 0; i < FAILOVER_TRIALS; i++) {
    phone = startFfmpegPublisher({ url: phoneUrl, bitrateKbps: 1500, size: '320x180' });
    await eventually(() => scenes.changes.at(-1)?.scene === 'LIVE', 60_000, 10);
    await sleep(1000);
    const killedAt = performance.now();
    killedWall.push(Date.now());
    await phone.stop();
    phone = null;
    const { value: brbAt } = await eventually(() => scenes.onAirAfter('BRB', killedAt), 30_000, 5);
    failoverMs.push(brbAt - killedAt);
    process.stderr.write(`failover trial ${i + 1}: ${Math.round(brbAt - killedAt)} ms\n`);
    // The relay gives the silent link a fresh listener after relisten_after_stall_ms (1.5 s).
    await sleep(2000);
  }
  await engine.post('/api/relay/stop');

  // Where the time goes, from the engine's own log: kill → BRB intent (relay stall pushed and
  // evaluated) and BRB intent → OBS reporting the scene.
  const intents = engine.proc
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
      `stall_after_ms = ${STALL_AFTER_MS}; relay ingest SRT latency = ${SRT_LATENCY_MS} ms; OBS transition ${transition}`,
      '',
      '| figure | trials | p50 ms | p95 ms | max ms |',
      '|---|---|---|---|---|',
      latencyRow('phone killed → OBS reports BRB', failoverMs, 0),
      latencyRow('… of which kill → BRB intent in the engine', detectMs, 0),
      latencyRow('… of which BRB intent → OBS reports BRB', switchMs, 0),
      latencyRow('start request → IRL_ACTIVE (local provider)', startMs, 0),
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
