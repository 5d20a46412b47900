/**
 * `telemy cloud start` and the engine (issue 15): the embedded control plane must never stall the
 * engine's event loop nor grow its memory. Runs `telemy start` (shim + engine, embedded cloud) against
 * a headless OBS that is streaming over SRT to a local `srt-live-transmit` listener, then cycles
 * `telemy cloud start --wait` → phone publishing (ffmpeg over SRT to the relay) → `telemy cloud stop`.
 *
 * Measured on the ENGINE process only (the shim's child), per phase (studio before any cloud start,
 * each `cloud start`, each IRL-active window, studio after the last stop):
 *  - event-loop lag p99 and max: the engine's own `perf_hooks` histogram (10 ms resolution), as
 *    `/metrics` serves it — prom-client resets it at every scrape, so a scrape right before a phase
 *    and one right after it give exactly that phase's figures;
 *  - what a client sees: `GET /healthz` every 100 ms, its round-trip time p99 and max;
 *  - RSS (`/proc/<pid>/status` VmRSS) every 100 ms, and the control-plane child's for information;
 *  - the scenes OBS switched to, and whether OBS's stream stayed up.
 *
 *   flock /tmp/telemy-bench.lock flock /tmp/telemy-obs.lock node --import tsx scripts/bench/cloud-start.ts [--cycles 3] [--window 10]
 *     [--out docs/bench/cloud-start.md] [--append]
 *
 * Both locks: benchmarks run one at a time, and so do the jobs that start a headless OBS. Writes the
 * report (method and this run) to `--out`; `--append` adds only this run's section to it.
 */
import { execFile, execSync } from 'node:child_process';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { cmdline, rssMb } from '../../test/support/procs.js';
import { type SrtPublisher, startFfmpegPublisher } from '../../test/support/srt.js';
import { eventually, TELEMY_BIN } from '../../test/support/telemy-process.js';
import { type BenchEngine, engineHome, launchEngine } from './lib/engine.js';
import { sceneLog, startStreamingObs } from './lib/obs.js';
import { children, cpuSpan } from './lib/procs.js';
import { loadAverages, machine, percentile, writeReport } from './lib/report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OBS_PORT = 44780;
const SRT_PORT = 45310;
const ENGINE_PORT = 7245;
const PASSWORD = 'cloud-start-bench-obs';
const SAMPLE_MS = 100;

const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '3' },
    window: { type: 'string', default: '10' },
    out: { type: 'string', default: resolve(ROOT, 'docs/bench/cloud-start.md') },
    append: { type: 'boolean', default: false },
  },
});
const CYCLES = Number(args.cycles);
const WINDOW_MS = Number(args.window) * 1000;
if (!Number.isInteger(CYCLES) || CYCLES < 1) throw new Error('--cycles must be a positive integer');
if (!Number.isFinite(WINDOW_MS) || WINDOW_MS < 2000) throw new Error('--window must be ≥ 2 (seconds)');

const METHOD = `# \`telemy cloud start\` and the engine: event-loop lag and memory

The embedded control plane (PGlite, fastify, the local relay provider) is a child process of the
engine. This measures what starting it, and running an IRL session through it, costs the engine.

Setup: a headless OBS (scenes LIVE / BRB / OFFLINE, 1280x720 colour source, x264) streaming over SRT
to a local \`srt-live-transmit\` listener; \`telemy start\` (shim + engine, scenes switched by the
shim over IPC; in a session of its own, as from its own terminal) with \`[cloud] mode = "embedded"\` and the default feed source (OBS's own stream
output). Phases, in order: studio with the cloud never started (a window of --window seconds); then
--cycles times: \`telemy cloud start --wait --json\` (the first one also starts the control-plane
child, which creates its database: a fresh data folder, as on a streamer's very first IRL start), a
phone (ffmpeg, 320x180 test pattern at 1.5 Mb/s) publishing to the session's SRT URL until the engine
is IRL_ACTIVE and for a window, then \`telemy cloud stop\`; studio again (the control-plane child stays
up after a stop); then \`telemy start\` is stopped and started again, and after a studio window one
more cycle runs: its cloud start starts the child on the existing database, as every day.

Figures, all of the ENGINE process (the shim's child), per phase:
- engine lag p99 / max: the engine's own event-loop delay histogram (\`perf_hooks.monitorEventLoopDelay\`,
  10 ms resolution) as its \`/metrics\` serves it (\`nodejs_eventloop_lag_p99_seconds\`,
  \`_max_seconds\`). prom-client resets that histogram at every scrape, so the benchmark scrapes
  right before a phase (discarded) and right after it: the figures cover exactly the phase. Nothing
  else scrapes the engine during the run.
- /healthz p99 / max: the round trip of \`GET /healthz\` sent every 100 ms (one at a time), what any
  client of the engine (dock, shim, \`telemy cloud\`) would wait.
- engine RSS: \`/proc/<engine>/status\` VmRSS every 100 ms; the control plane child's likewise, for
  information (it is found as the engine's child running \`control-plane --embedded\`).
- engine CPU: its user + system time (\`/proc/<engine>/stat\`) over the phase, in % of one core; machine
  busy: all cores (\`/proc/stat\`), in %; CPU pressure: the share of the phase during which some
  task waited for a CPU (Linux PSI, \`/proc/pressure/cpu\`). Lag while the engine itself is mostly
  idle and the pressure is high is time it waited for a core, not work it did.
- engine waited for a CPU: the time the engine's main thread (its event loop) was runnable but not
  running over the phase (\`/proc/<engine>/schedstat\`, run-queue wait).
- scenes OBS switched to: its \`CurrentProgramSceneChanged\` events during the phase; and whether OBS's
  stream output was still active at the end (the engine did not stop it).

Targets: engine lag p99 < 50 ms during \`telemy cloud start\`; engine RSS ≤ 100 MB in every phase.
`;

/** As `bin/telemy.js` decides: the bundle runs only when it is newer than every source it was built from. */
function bundleIsCurrent(): boolean {
  try {
    const dist = resolve(ROOT, 'packages/cli/dist');
    const built = statSync(resolve(dist, 'telemy.js')).mtimeMs;
    const inputs = JSON.parse(readFileSync(resolve(dist, 'inputs.json'), 'utf8')) as string[];
    return inputs.every((f) => statSync(resolve(ROOT, f)).mtimeMs <= built);
  } catch {
    return false;
  }
}
// Through tsx the engine is ~35 MB bigger than the bundle users run: its figures would mean nothing.
if (!bundleIsCurrent())
  throw new Error('packages/cli/dist is older than the sources: run `npm run build` first');

const run = promisify(execFile);

interface Sample {
  at: number;
  engineMb: number | null;
  cpMb: number | null;
}

interface Phase {
  name: string;
  startedAt: number;
  endedAt: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** CPU the engine used, in % of one core. */
  engineCpuPct: number;
  /** How busy the whole machine was (all cores), in %. */
  machineBusyPct: number;
  /** Share of the phase during which some task waited for a CPU (Linux PSI), in %. */
  cpuPressurePct: number;
  /** Time the engine's main thread (its event loop) was runnable but waiting for a CPU, in ms. */
  engineRunqMs: number;
  /** Seconds the command took (cloud start) or the window lasted. */
  seconds: number;
  /** The program scenes OBS switched to during the phase. */
  scenes: string;
  note: string;
}

const base = `http://127.0.0.1:${ENGINE_PORT}`;

/** The engine's event-loop lag since the previous scrape (prom-client resets its histogram then). */
async function scrapeLag(engine: BenchEngine): Promise<{ p99Ms: number; maxMs: number }> {
  const read = await engine.metrics();
  const seconds = (name: string) => {
    const v = read(name);
    if (v === null) throw new Error(`${name} not in /metrics`);
    return v;
  };
  return {
    p99Ms: seconds('nodejs_eventloop_lag_p99_seconds') * 1000,
    maxMs: seconds('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

async function engineMode(engine: BenchEngine): Promise<string> {
  return (await engine.get<{ engine: { mode: string } }>('/api/state')).engine.mode;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');

const { obs, stop: stopObs } = await startStreamingObs({
  port: OBS_PORT,
  password: PASSWORD,
  scenes: ['LIVE', 'BRB', 'OFFLINE'],
  srtPort: SRT_PORT,
});
/** What runs now, stopped in `finally` whatever happens. */
const running: { telemy: BenchEngine | null; phone: SrtPublisher | null } = { telemy: null, phone: null };
let sampler: NodeJS.Timeout | null = null;
try {
  const ws = await obs.client();
  const sceneChanges = sceneLog(ws).changes;

  const home = engineHome({
    obsPort: OBS_PORT,
    port: ENGINE_PORT,
    toml: [
      '[scenes]\nlive = "LIVE"\nlow = ""\nbrb = "BRB"\noffline = "OFFLINE"',
      '[cloud]\nmode = "embedded"',
    ],
    secrets: { obs_password: PASSWORD },
  });
  const cloud = (...a: string[]) =>
    run(process.execPath, [TELEMY_BIN, '--config', home.configFile, 'cloud', ...a], {
      env: { ...process.env, TELEMY_HOME: home.home },
    });

  /**
   * `telemy start` as a user runs it, from a terminal of its own: its own session, while the
   * `telemy cloud` commands run from this one. Resolves once it is in STUDIO.
   */
  const launch = async (): Promise<BenchEngine> => {
    const telemy = await launchEngine(home, {
      command: 'start',
      port: ENGINE_PORT,
      env: { TELEMY_ENGINE_STARTUP_WINDOW_MS: '60000' },
      ownSession: true,
    });
    running.telemy = telemy;
    await eventually(async () => (await engineMode(telemy)) === 'STUDIO', 60_000, 200);
    return telemy;
  };
  let engine = await launch();
  let enginePid = await engine.pid();

  // 100 ms samplers: RSS of the engine and of its control-plane child, and /healthz round trips.
  const samples: Sample[] = [];
  const probes: { at: number; ms: number }[] = [];
  let probing = false;
  sampler = setInterval(() => {
    const cp = children(enginePid).find((p) => cmdline(p).includes('control-plane --embedded')) ?? null;
    samples.push({ at: performance.now(), engineMb: rssMb(enginePid), cpMb: cp === null ? null : rssMb(cp) });
    if (probing) return;
    probing = true;
    const t0 = performance.now();
    fetch(`${base}/healthz`)
      .then((r) => r.text())
      .then(() => probes.push({ at: t0, ms: performance.now() - t0 }))
      .catch(() => undefined)
      .finally(() => {
        probing = false;
      });
  }, SAMPLE_MS);

  const phases: Phase[] = [];
  const measure = async (name: string, body: () => Promise<string>): Promise<void> => {
    await scrapeLag(engine);
    const end = cpuSpan(enginePid);
    const note = await body();
    const { startedAt, endedAt, cpuPct, machineBusyPct, cpuPressurePct, runqMs } = end();
    const lag = await scrapeLag(engine);
    phases.push({
      name,
      startedAt,
      endedAt,
      lagP99Ms: lag.p99Ms,
      lagMaxMs: lag.maxMs,
      engineCpuPct: cpuPct,
      machineBusyPct,
      cpuPressurePct,
      engineRunqMs: runqMs,
      seconds: (endedAt - startedAt) / 1000,
      scenes: sceneChanges
        .filter((c) => c.at >= startedAt && c.at <= endedAt)
        .map((c) => c.scene)
        .join(', '),
      note,
    });
    process.stderr.write(
      `${name}: lag p99 ${f1(lag.p99Ms)} ms, max ${f1(lag.maxMs)} ms, waited for a CPU ${f0(runqMs)} ms, ${f1((endedAt - startedAt) / 1000)} s\n`,
    );
  };
  const window = async () => {
    await sleep(WINDOW_MS);
    return `mode ${await engineMode(engine)}`;
  };

  /** `telemy cloud start --wait`, then a phone until IRL_ACTIVE and a window, then `telemy cloud stop`. */
  const cycle = async (i: number, what: string) => {
    await measure(`cloud start ${i}${what}`, async () => {
      const { stdout } = await cloud('start', '--wait', '120', '--json');
      return `session ${(JSON.parse(stdout) as { status: string }).status}`;
    });
    const { stdout } = await cloud('active', '--json', '--reveal');
    const srtUrl = (JSON.parse(stdout) as { ingest: { srt_url: string } }).ingest.srt_url;
    const phone = startFfmpegPublisher({ url: srtUrl, bitrateKbps: 1500, size: '320x180' });
    running.phone = phone;
    await eventually(async () => (await engineMode(engine)) === 'IRL_ACTIVE', 60_000, 200);
    await measure(`IRL active ${i} (phone publishing)`, window);
    await phone.stop();
    running.phone = null;
    await cloud('stop');
    await eventually(async () => (await engineMode(engine)) === 'STUDIO', 60_000, 200);
  };

  await measure('studio, cloud never started', window);
  for (let i = 1; i <= CYCLES; i++)
    await cycle(i, i === 1 ? ' (control plane child starts, creates its database)' : '');
  await measure('studio after the last stop (control plane child still up)', window);
  // What a streamer meets every day: Telemy restarted, the first IRL start opens the existing database.
  await running.telemy?.stop();
  engine = await launch();
  enginePid = await engine.pid();
  await measure('studio after a restart of telemy start', window);
  await cycle(CYCLES + 1, ' after the restart (control plane child starts, existing database)');
  const streamUp = (await ws.call('GetStreamStatus')).outputActive;

  clearInterval(sampler);
  sampler = null;
  const inPhase = (p: Phase) => samples.filter((s) => s.at >= p.startedAt && s.at <= p.endedAt);
  const probeIn = (p: Phase) =>
    probes.filter((s) => s.at >= p.startedAt && s.at <= p.endedAt).map((s) => s.ms);
  const nums = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  const starts = phases.filter((p) => p.name.startsWith('cloud start'));
  const worstP99 = Math.max(...starts.map((p) => p.lagP99Ms));
  const worstMax = Math.max(...starts.map((p) => p.lagMaxMs));
  const engineMax = Math.max(...nums(samples.map((s) => s.engineMb)));
  const cpMax = Math.max(...nums(samples.map((s) => s.cpMb)));

  const rows = phases.map((p) => {
    const s = inPhase(p);
    const eng = nums(s.map((x) => x.engineMb));
    const cp = nums(s.map((x) => x.cpMb));
    const pr = probeIn(p);
    return `| ${p.name} | ${f1(p.seconds)} | ${f1(p.lagP99Ms)} | ${f1(p.lagMaxMs)} | ${f0(p.engineCpuPct)} | ${f0(p.machineBusyPct)} | ${f0(p.cpuPressurePct)} | ${f0(p.engineRunqMs)} | ${f0(percentile(pr, 99))} | ${f0(Math.max(...pr))} | ${f1(percentile(eng, 50))} | ${f1(Math.max(...eng))} | ${cp.length ? f0(Math.max(...cp)) : '–'} | ${p.scenes || '–'} | ${p.note} |`;
  });
  const date = execSync('date -u').toString().trim();
  const section = [
    `## Run of ${date}`,
    '',
    `Date: ${date}. Machine: ${machine()}. Load average at the end: ${loadAverages()}.`,
    `Command: \`flock /tmp/telemy-bench.lock flock /tmp/telemy-obs.lock node --import tsx scripts/bench/cloud-start.ts --cycles ${CYCLES} --window ${WINDOW_MS / 1000}\`.`,
    '',
    '| phase | s | engine lag p99 ms | engine lag max ms | engine CPU % of a core | machine busy % | CPU pressure % | engine waited for a CPU ms | /healthz p99 ms | /healthz max ms | engine RSS p50 MB | engine RSS max MB | control-plane child RSS max MB | scenes OBS switched to | end state |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `During \`telemy cloud start\`: engine lag p99 ≤ ${f1(worstP99)} ms, max ≤ ${f1(worstMax)} ms (target p99 < 50 ms ${worstP99 < 50 ? '✅' : '❌'}). Engine RSS max over the whole run ${f1(engineMax)} MB (target ≤ 100 MB ${engineMax <= 100 ? '✅' : '❌'}); control-plane child RSS max ${f0(cpMax)} MB. OBS still streaming at the end: ${streamUp ? 'yes' : 'NO'}.`,
    '',
  ].join('\n');
  if (args.append) appendFileSync(args.out, `\n${section}`);
  else writeReport(args.out, `${METHOD}\n${section}`);
  process.stdout.write(`${section}\nwritten to ${args.out}\n`);
} finally {
  if (sampler) clearInterval(sampler);
  await running.phone?.stop();
  await running.telemy?.stop();
  await stopObs();
}
