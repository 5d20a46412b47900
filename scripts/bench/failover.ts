/**
 * Failover detection-to-switch latency on a real OBS through the real `telemy engine` with a real
 * SRT feed (ffmpeg → srt-live-transmit JSON stats → `srt_live_transmit` source).
 *
 *   node --import tsx scripts/bench/failover.ts [--trials 20] [--only default|noalbs] [--transition Cut]
 *
 * OBS announces a scene only after its transition ends: with OBS's default Fade (300 ms) every
 * figure includes the fade; `--transition Cut` measures the engine and OBS without it.
 *
 * BRB: from SIGKILL of the publisher to OBS announcing BRB (CurrentProgramSceneChanged, seen by our
 * own obs-websocket client); "transition start" is OBS's SceneTransitionStarted before it, the moment
 * BRB starts to be visible. LIVE: from the restarted publisher's first stats line to OBS announcing
 * LIVE (the listener refuses a new caller until SRT's 5 s peer-idle timeout drops the killed one,
 * which is not the engine's time; the recovery window itself is 1.5 s by default). Run once with the
 * default timings and once with NOALBS-like ones (1 s polling, switch after 5 identical readings).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type ObsHandle, startObs } from '../../test/support/obs-harness.js';
import { type SrtFeed, startSrtFeed } from '../../test/support/srt-feed.js';
import { AUTOMATION_WITHOUT_STREAM, eventually } from '../../test/support/telemy-process.js';
import { runMain } from './lib/cli.js';
import { startEngine } from './lib/engine.js';
import { sceneLog, useTransition } from './lib/obs.js';
import { summary } from './lib/report.js';

const OBS_PORT = 44602;
const ENGINE_PORT = 7193;
const PASSWORD = 'bench-failover-pw';

interface Profile {
  name: 'default' | 'noalbs';
  failover: string;
}
const PROFILES: Profile[] = [
  { name: 'default', failover: 'low_bitrate_kbps = 800\noffline_bitrate_kbps = 200' },
  {
    name: 'noalbs',
    failover:
      'low_bitrate_kbps = 800\noffline_bitrate_kbps = 200\nsample_interval_ms = 1000\noffline_after_ms = 5000\nrecover_after_ms = 5000',
  },
];

async function runProfile(obs: ObsHandle, feed: SrtFeed, profile: Profile, trials: number) {
  const engine = await startEngine({
    command: 'engine',
    obsPort: OBS_PORT,
    port: ENGINE_PORT,
    log: true,
    toml: [
      '[cloud]\nmode = "off"',
      // OBS does not stream here: without this, automation would hold every switch.
      AUTOMATION_WITHOUT_STREAM,
      `[failover]\n${profile.failover}`,
      `[[sources]]\nname = "phone"\ntype = "srt_live_transmit"\nstats_file = "${feed.statsFile}"`,
    ],
    secrets: { obs_password: PASSWORD },
  });
  const client = await obs.client();
  const onAir = sceneLog(client, Date.now);
  // With a Fade, OBS announces the scene when the transition ends; viewers start seeing it at the start.
  const transitionStarts: number[] = [];
  const onTransition = () => transitionStarts.push(Date.now());
  client.on('SceneTransitionStarted', onTransition);
  const sceneAfter = async (scene: string, since: number, ms: number) =>
    (await eventually(() => onAir.onAirAfter(scene, since), ms, 10)).value;
  const recoverMs = profile.name === 'default' ? 1500 : 5000;

  const brb: number[] = [];
  const brbVisible: number[] = [];
  const live: number[] = [];
  try {
    const start = Date.now();
    feed.publish(2000);
    if ((await obs.currentScene()) !== 'LIVE') await sceneAfter('LIVE', start, 60_000);
    for (let i = 0; i < trials; i++) {
      await sleep(1500 + Math.random() * 500);
      const killedAt = Date.now();
      await feed.kill('SIGKILL');
      const announcedAt = await sceneAfter('BRB', killedAt, 30_000);
      brb.push(announcedAt - killedAt);
      const startedAt = transitionStarts.findLast((t) => t >= killedAt && t <= announcedAt);
      if (startedAt === undefined) throw new Error('OBS announced BRB without a SceneTransitionStarted');
      brbVisible.push(startedAt - killedAt);
      // The killed session may still flush a last line; the restarted one then grows the file.
      await sleep(200);
      const size = feed.statsSize();
      feed.publish(2000);
      const { value: firstLineAt } = await eventually(
        () => (feed.statsSize() > size ? Date.now() : null),
        60_000,
        10,
      );
      live.push((await sceneAfter('LIVE', firstLineAt, 30_000 + recoverMs)) - firstLineAt);
      process.stderr.write(
        `${profile.name} trial ${i + 1}/${trials}: BRB ${brb.at(-1)} ms (transition start ${brbVisible.at(-1)} ms), LIVE ${live.at(-1)} ms\n`,
      );
    }
  } catch (err) {
    throw new Error(`${String(err)} (engine log: ${engine.log})`);
  } finally {
    onAir.close();
    client.off('SceneTransitionStarted', onTransition);
    await feed.kill('SIGINT');
    await engine.stop();
  }
  return {
    brb: summary(brb),
    brbVisible: summary(brbVisible),
    live: summary(live),
    raw: { brb, brbVisible, live },
  };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      trials: { type: 'string', default: '20' },
      only: { type: 'string' },
      transition: { type: 'string' },
    },
  });
  const trials = Number(args.trials);
  const only = args.only;
  const obs = await startObs({
    port: OBS_PORT,
    password: PASSWORD,
    scenes: ['BRB', 'LIVE', 'LOW', 'OFFLINE'],
  });
  const feed = await startSrtFeed({
    port: 45120,
    sinkPort: 45121,
    dir: mkdtempSync(join(tmpdir(), 'bench-fo-')),
  });
  try {
    process.stdout.write(`OBS transition: ${await useTransition(await obs.client(), args.transition)}\n`);
    for (const profile of PROFILES.filter((p) => !only || p.name === only)) {
      const r = await runProfile(obs, feed, profile, trials);
      process.stdout.write(
        `${JSON.stringify({ profile: profile.name, trials, brb_ms: r.brb, brb_transition_start_ms: r.brbVisible, live_after_first_stats_ms: r.live, raw: r.raw })}\n`,
      );
    }
  } finally {
    await feed.stop();
    await obs.dispose();
  }
}

runMain('failover', main);
