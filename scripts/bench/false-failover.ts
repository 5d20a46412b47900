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
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ObsHandle, startObs } from '../../test/support/obs-harness.js';
import { rssMb } from '../../test/support/procs.js';
import { startSrtListener } from '../../test/support/srt.js';
import { type SrtFeed, startSrtFeed } from '../../test/support/srt-feed.js';
import {
  eventually,
  newTelemyHome,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../../test/support/telemy-process.js';
import { machine, percentile } from './report.js';

const OBS_PORT = 44720;
const PHONE_ENGINE_PORT = 7250;
const SHADOW_ENGINE_PORT = 7251;
const PASSWORD = 'bench-false-failover-pw';

const flag = (name: string) => process.argv.includes(`--${name}`);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Engine {
  proc: TelemyProcess;
  token: string;
  log: string;
  port: number;
  /** The engine process itself (with `telemy start`, the shim's child). */
  pid: number;
}

/** The one child of `parent` (the engine the shim supervises). */
function childOf(parent: number): number {
  const pids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
  if (pids.length !== 1)
    throw new Error(`expected one engine under the shim ${parent}, found ${pids.join(',')}`);
  return pids[0] as number;
}

/**
 * `how`: `start` runs Telemy as a streamer does (the shim supervises the engine and switches scenes
 * over IPC); `engine` runs the engine alone.
 */
async function startEngine(
  name: string,
  how: 'start' | 'engine',
  port: number,
  toml: string,
): Promise<Engine> {
  const home = newTelemyHome();
  const log = join(home, 'engine.log');
  writeConfig(
    home,
    [
      `[obs]\nport = ${OBS_PORT}`,
      `[server]\nport = ${port}`,
      '[cloud]\nmode = "off"',
      `[log]\nlevel = "info"\nfile = "${log}"`,
      toml,
    ].join('\n'),
  );
  const vault = telemySync(['vault', 'set', 'obs_password'], { home, input: `${PASSWORD}\n` });
  if (vault.status !== 0) throw new Error(`${name}: vault set failed: ${vault.stderr.trim()}`);
  const proc = startTelemy([how, '--config', join(home, 'config.toml')], { home });
  const token = (await proc.waitFor(/dashboard: \S+\?token=(\S+)/, 120_000))[1] as string;
  const shell = proc.proc.pid as number;
  return { proc, token, log, port, pid: how === 'start' ? childOf(shell) : shell };
}

/**
 * One scrape of the engine's metrics (prom-client resets its event-loop histogram on every scrape,
 * so values that belong together come from the same one).
 */
async function scrape(e: Engine): Promise<(name: string) => number | null> {
  const r = await fetch(`http://127.0.0.1:${e.port}/metrics`, {
    headers: { authorization: `Bearer ${e.token}` },
  });
  const text = await r.text();
  return (name) => {
    const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
}

/** Automatic intents towards a failover scene the engine logged (each one a switch it wanted). */
function failoverIntents(log: string): Array<{ intent: string; reason: string }> {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"intent"'))
    .map((l) => JSON.parse(l) as { intent: string; reason: string })
    .filter((e) => e.intent !== 'LIVE');
}

async function main(): Promise<void> {
  const soakMs = arg('soak-min', 10) * 60_000;
  const kills = arg('kills', 20);
  const hogCount = arg('hogs', 2);
  const hogNice = arg('hog-nice', 0);
  const hogsDuringKills = flag('hogs-during-kills');
  const dir = newTelemyHome();
  const obs: ObsHandle = await startObs({
    port: OBS_PORT,
    password: PASSWORD,
    scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE'],
  });
  const hogs: ChildProcess[] = [];
  const phone: SrtFeed = await startSrtFeed({ port: 47720, sinkPort: 47721, dir, publisherRealtime: true });
  const out = await startSrtListener({ port: 47722 });
  const engines: Engine[] = [];
  try {
    const client = await obs.client();
    await client.call('SetCurrentSceneTransition', { transitionName: 'Cut' });
    await obs.setScene('LIVE');
    const program: Array<{ at: number; scene: string }> = [];
    client.on('CurrentProgramSceneChanged', (e) => program.push({ at: Date.now(), scene: e.sceneName }));
    await obs.setSrtStreamTarget(out.url);
    await obs.startStream();
    phone.publish(2000);
    const main = await startEngine(
      'phone',
      'start',
      PHONE_ENGINE_PORT,
      `[failover]\nlow_bitrate_kbps = 800\noffline_bitrate_kbps = 200\n[[sources]]\nname = "phone"\ntype = "srt_live_transmit"\nstats_file = "${phone.statsFile}"`,
    );
    engines.push(main);
    const shadow = await startEngine(
      'obs_output',
      'engine',
      SHADOW_ENGINE_PORT,
      '[automation]\nauto_scene_switch = false',
    );
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
      const v = rssMb(main.pid);
      if (v !== null) rss.push(v);
    }, 1000);
    const soakStart = Date.now();
    const shadowBefore = failoverIntents(shadow.log).length;
    const mainBefore = failoverIntents(main.log).length;
    process.stderr.write(`soak: ${soakMs / 60_000} min with ${hogCount} hog(s) at nice ${hogNice}\n`);
    while (Date.now() - soakStart < soakMs) {
      await sleep(10_000);
      const falseSoFar = program.filter((p) => p.at >= soakStart).length;
      process.stderr.write(`  ${Math.round((Date.now() - soakStart) / 1000)} s: ${falseSoFar} switch(es)\n`);
    }
    const soakEnd = Date.now();
    const falseSwitches = program.filter((p) => p.at >= soakStart && p.at <= soakEnd);
    const shadowIntents = failoverIntents(shadow.log).slice(shadowBefore);
    const soakMetrics = await scrape(main);
    const lagP99 = soakMetrics('nodejs_eventloop_lag_p99_seconds');
    const lagMax = soakMetrics('nodejs_eventloop_lag_max_seconds');
    const falseReasons = failoverIntents(main.log).slice(mainBefore);
    if (!hogsDuringKills) for (const h of hogs) h.kill('SIGKILL');

    const brb: number[] = [];
    for (let i = 0; i < kills; i++) {
      if ((await obs.currentScene()) !== 'LIVE') {
        const since = Date.now();
        await eventually(() => program.find((p) => p.at >= since && p.scene === 'LIVE'), 60_000, 10);
      }
      await sleep(2000 + Math.random() * 1000);
      const killedAt = Date.now();
      await phone.kill('SIGKILL');
      // The time is OBS's announcement as the listener stamped it, not when this poll saw it.
      const { value: at } = await eventually(
        () => program.find((p) => p.at >= killedAt && p.scene === 'BRB')?.at,
        30_000,
        10,
      );
      brb.push(at - killedAt);
      process.stderr.write(`kill ${i + 1}/${kills}: BRB after ${brb.at(-1)} ms\n`);
      await sleep(300);
      phone.publish(2000);
    }
    clearInterval(rssTimer);
    const endMetrics = await scrape(main);
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
      await e.proc.stop();
      // An engine that died during the run says why here.
      writeFileSync(join(dirname(e.log), 'stderr.log'), `exit ${code}\n${e.proc.stderr()}`);
    }
    await phone.stop();
    await out.stop();
    await obs.dispose();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
