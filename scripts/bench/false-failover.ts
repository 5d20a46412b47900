/**
 * False failovers on a busy PC, then kill → BRB latency, through `telemy start` as a streamer runs it
 * (the shim supervises the engine and switches scenes over IPC) on a real OBS that streams out over
 * SRT, with a real SRT phone (ffmpeg → srt-live-transmit JSON stats).
 *
 *   node --import tsx scripts/bench/false-failover.ts [--soak-min 10] [--kills 20] [--hogs 2]
 *     [--hog-nice 0] [--hogs-during-kills]
 *
 * 1. Soak: OBS streams, the phone publishes a healthy 2 Mb/s, and `--hogs` busy-loop processes (one
 *    per core by default) keep both cores busy for `--soak-min` minutes. Each hog is its own
 *    program, as a game is (its own session, so Linux's autogroup weighs it against OBS and the
 *    ingest like any other program), at `--hog-nice` (default 0). The phone is another device in
 *    real life: its ffmpeg runs at real-time priority so this machine's load never delays what it
 *    sends (starved here, it made gaps no phone makes). Every program scene change OBS announces in
 *    that time is a false switch (target 0). A second engine watches the same OBS with the default
 *    feed (OBS's own stream output) and automatic switching off; every automatic intent it logs
 *    (BRB, LOW, OFFLINE) is a switch that feed would have made.
 * 2. Kills: the hogs stopped (or still running with `--hogs-during-kills`), the phone is SIGKILLed
 *    `--kills` times; each time, from the
 *    kill to OBS announcing BRB (Cut transition, so the figure is the engine's and OBS's), then the
 *    phone comes back and LIVE returns before the next kill.
 * The engine's event-loop lag (prom-client's `nodejs_eventloop_lag_*` over the soak) and the RSS of
 * the engine process (the shim's child; /proc, every second) are recorded alongside.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { rssMb } from '../../test/support/procs.js';
import { type SrtFeed, startSrtFeed } from '../../test/support/srt-feed.js';
import { eventually, newTelemyHome } from '../../test/support/telemy-process.js';
import { runMain } from './lib/cli.js';
import { type BenchEngine, startEngine } from './lib/engine.js';
import { sceneLog, startStreamingObs } from './lib/obs.js';
import { machine, percentile } from './lib/report.js';

const OBS_PORT = 44720;
const PHONE_ENGINE_PORT = 7250;
const SHADOW_ENGINE_PORT = 7251;
const PASSWORD = 'bench-false-failover-pw';

/** An engine watching the one OBS, with its own port and config. */
const engine = (port: number, command: 'start' | 'engine', toml: string) =>
  startEngine({
    command,
    obsPort: OBS_PORT,
    port,
    log: true,
    toml: ['[cloud]\nmode = "off"', toml],
    secrets: { obs_password: PASSWORD },
  });

/** Automatic intents towards a failover scene the engine logged (each one a switch it wanted). */
function failoverIntents(log: string): Array<{ intent: string; reason: string }> {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"intent"'))
    .map((l) => JSON.parse(l) as { intent: string; reason: string })
    .filter((e) => e.intent !== 'LIVE');
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      'soak-min': { type: 'string', default: '10' },
      kills: { type: 'string', default: '20' },
      hogs: { type: 'string', default: '2' },
      'hog-nice': { type: 'string', default: '0' },
      'hogs-during-kills': { type: 'boolean', default: false },
    },
  });
  const soakMs = Number(args['soak-min']) * 60_000;
  const kills = Number(args.kills);
  const hogCount = Number(args.hogs);
  const hogNice = Number(args['hog-nice']);
  const hogsDuringKills = args['hogs-during-kills'];
  const dir = newTelemyHome();
  const { obs, stop: stopObs } = await startStreamingObs({
    port: OBS_PORT,
    password: PASSWORD,
    scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE'],
    srtPort: 47722,
  });
  const hogs: ChildProcess[] = [];
  const phone: SrtFeed = await startSrtFeed({ port: 47720, sinkPort: 47721, dir, publisherRealtime: true });
  const engines: BenchEngine[] = [];
  try {
    const client = await obs.client();
    await client.call('SetCurrentSceneTransition', { transitionName: 'Cut' });
    await obs.setScene('LIVE');
    const program = sceneLog(client, Date.now);
    phone.publish(2000);
    const main = await engine(
      PHONE_ENGINE_PORT,
      'start',
      `[failover]\nlow_bitrate_kbps = 800\noffline_bitrate_kbps = 200\n[[sources]]\nname = "phone"\ntype = "srt_live_transmit"\nstats_file = "${phone.statsFile}"`,
    );
    engines.push(main);
    const mainPid = await main.pid();
    const shadow = await engine(SHADOW_ENGINE_PORT, 'engine', '[automation]\nauto_scene_switch = false');
    engines.push(shadow);
    await sleep(5000);
    for (let i = 0; i < hogCount; i++) {
      const hog = ['-n', String(hogNice), process.execPath, '-e', 'for(;;){}'];
      // Its own session, as a game started from the desktop: Linux's autogroup then weighs it
      // against OBS and the ingest as a program, and `nice` ranks it only within itself.
      hogs.push(spawn('nice', hog, { stdio: 'ignore', detached: true }));
    }

    const rss: number[] = [];
    const rssTimer = setInterval(() => {
      const v = rssMb(mainPid);
      if (v !== null) rss.push(v);
    }, 1000);
    const soakStart = Date.now();
    const shadowBefore = failoverIntents(shadow.log).length;
    const mainBefore = failoverIntents(main.log).length;
    process.stderr.write(`soak: ${soakMs / 60_000} min with ${hogCount} hog(s) at nice ${hogNice}\n`);
    while (Date.now() - soakStart < soakMs) {
      await sleep(10_000);
      const falseSoFar = program.changes.filter((p) => p.at >= soakStart).length;
      process.stderr.write(`  ${Math.round((Date.now() - soakStart) / 1000)} s: ${falseSoFar} switch(es)\n`);
    }
    const soakEnd = Date.now();
    const falseSwitches = program.changes.filter((p) => p.at >= soakStart && p.at <= soakEnd);
    const shadowIntents = failoverIntents(shadow.log).slice(shadowBefore);
    const soakMetrics = await main.metrics();
    const lagP99 = soakMetrics('nodejs_eventloop_lag_p99_seconds');
    const lagMax = soakMetrics('nodejs_eventloop_lag_max_seconds');
    const falseReasons = failoverIntents(main.log).slice(mainBefore);
    if (!hogsDuringKills) for (const h of hogs) h.kill('SIGKILL');

    const brb: number[] = [];
    for (let i = 0; i < kills; i++) {
      if ((await obs.currentScene()) !== 'LIVE') {
        const since = Date.now();
        await eventually(() => program.onAirAfter('LIVE', since), 60_000, 10);
      }
      await sleep(2000 + Math.random() * 1000);
      const killedAt = Date.now();
      await phone.kill('SIGKILL');
      // The time is OBS's announcement as the listener stamped it, not when this poll saw it.
      const { value: at } = await eventually(() => program.onAirAfter('BRB', killedAt), 30_000, 10);
      brb.push(at - killedAt);
      process.stderr.write(`kill ${i + 1}/${kills}: BRB after ${brb.at(-1)} ms\n`);
      await sleep(300);
      phone.publish(2000);
    }
    clearInterval(rssTimer);
    const endMetrics = await main.metrics();
    const mb = (name: string) => Math.round(((endMetrics(name) ?? 0) / 2 ** 20) * 10) / 10;
    const result = {
      machine: machine(),
      date: new Date().toISOString(),
      soak_min: soakMs / 60_000,
      hogs: hogCount,
      hog_nice: hogNice,
      hogs_during_kills: hogsDuringKills,
      phone_priority: 'real-time (a separate device)',
      false_switches: falseSwitches.length,
      false_switch_scenes: falseSwitches.map((p) => p.scene),
      false_switch_reasons: falseReasons.slice(0, 10).map((e) => e.reason),
      obs_output_would_switch: shadowIntents.length,
      obs_output_intents: shadowIntents.slice(0, 10),
      kills,
      kill_to_brb_ms: { p50: percentile(brb, 50), p95: percentile(brb, 95), max: Math.max(...brb) },
      engine_eventloop_lag_p99_ms: lagP99 === null ? null : Math.round(lagP99 * 1000 * 10) / 10,
      engine_eventloop_lag_max_ms: lagMax === null ? null : Math.round(lagMax * 1000 * 10) / 10,
      engine_rss_mb: { p50: percentile(rss, 50), max: Math.max(...rss) },
      engine_memory_at_end_mb: {
        heap_total: mb('nodejs_heap_size_total_bytes'),
        heap_used: mb('nodejs_heap_size_used_bytes'),
        external: mb('nodejs_external_memory_bytes'),
      },
      raw: { brb },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    for (const e of engines) {
      const code = e.proc.proc.exitCode;
      await e.stop();
      // An engine that died during the run says why here.
      writeFileSync(join(e.home, 'stderr.log'), `exit ${code}\n${e.proc.stderr()}`);
    }
    await phone.stop();
    await stopObs();
  }
}

runMain('false-failover', main);
