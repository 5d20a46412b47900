/**
 * Engine resident memory and CPU while OBS is connected and streaming.
 *
 *   node --import tsx scripts/bench/engine-resources.ts [--seconds 60] [--cmd "<command>"] [--match <regex>] [--out <file>]
 *
 * Starts a headless OBS streaming over SRT to a local srt-live-transmit listener, runs the measured
 * command (default: this script in `--child` mode = ObsLink + MetricsHub + host metrics, sampling
 * every 500 ms) and reads its process tree's RSS and CPU time from /proc once a second after a
 * warm-up. The command learns where OBS is from TELEMY_BENCH_OBS_PORT / TELEMY_BENCH_OBS_PASSWORD
 * (and TELEMY_OBS_HOST / TELEMY_OBS_PORT for a full `telemy engine`). `--match` counts only the
 * processes of the tree whose command line matches (e.g. the engine that `telemy start` spawns, not the
 * shim beside it); the report gives the whole tree too. Writes a Markdown report.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const OBS_PORT = 44590;
const SRT_PORT = 45090;
const WARMUP_MS = 8_000;

const { values: args } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    cmd: { type: 'string' },
    match: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    out: { type: 'string', default: resolve(ROOT, 'docs/bench/engine-resources.md') },
  },
});

if (args.child) await runChild();
else await runBench();

/** The default measured process: the engine's OBS side alone. */
async function runChild(): Promise<void> {
  // Straight from the modules (not the package indexes, which pull in every zod schema) so that
  // only the OBS side is measured.
  const { createLogger } = await import('../../packages/protocol/src/logging.js');
  const { EngineMetrics } = await import('../../packages/engine/src/metrics/metrics.js');
  const { MetricsHub } = await import('../../packages/engine/src/obs/metrics-hub.js');
  const { ObsLink } = await import('../../packages/engine/src/obs/obs-link.js');
  const { SystemMetrics } = await import('../../packages/engine/src/system/system-metrics.js');
  const logger = createLogger('bench-engine', { level: 'warn' });
  const metrics = new EngineMetrics();
  const link = new ObsLink({
    host: '127.0.0.1',
    port: Number(process.env.TELEMY_BENCH_OBS_PORT),
    password: process.env.TELEMY_BENCH_OBS_PASSWORD,
    logger,
    metrics,
  });
  const hub = new MetricsHub({ link, metrics, logger, system: new SystemMetrics({ metrics, logger }) });
  let samples = 0;
  hub.on('sample', (s) => {
    samples++;
    if (samples % 10 === 0) {
      const kbps = s.outputs.find((o) => o.active)?.bitrateKbps ?? null;
      const heapMb = Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
      process.stdout.write(`${JSON.stringify({ samples, connected: s.obsConnected, kbps, heapMb })}\n`);
    }
  });
  // Scraping /metrics is part of an engine's steady work; do it as Prometheus would (every 5 s).
  setInterval(() => void metrics.registry.metrics(), 5_000);
  link.start();
  hub.start();
  process.on('SIGTERM', () => {
    hub.stop();
    void link.stop().then(() => process.exit(0));
  });
}

async function runBench(): Promise<void> {
  // Loaded here, not at the top: the default measured process is this file in `--child` mode.
  const { startStreamingObs } = await import('./lib/obs.js');
  const { CLOCK_TICKS, treeUsage } = await import('./lib/procs.js');
  const { writeReport } = await import('./lib/report.js');
  const seconds = Number(args.seconds);
  if (!Number.isFinite(seconds) || seconds < 5) throw new Error('--seconds must be a number ≥ 5');
  const command = args.cmd ?? `node --import tsx ${JSON.stringify(fileURLToPath(import.meta.url))} --child`;
  const match = args.match ? new RegExp(args.match) : null;

  const password = 'bench-password-1';
  const { listener, stop } = await startStreamingObs({
    port: OBS_PORT,
    password,
    scenes: ['Main'],
    srtPort: SRT_PORT,
  });
  let child: ChildProcess | null = null;
  try {
    child = spawn('sh', ['-c', `exec ${command}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        TELEMY_BENCH_OBS_PORT: String(OBS_PORT),
        TELEMY_BENCH_OBS_PASSWORD: password,
        TELEMY_OBS_HOST: '127.0.0.1',
        TELEMY_OBS_PORT: String(OBS_PORT),
      },
    });
    const rootPid = child.pid;
    if (rootPid === undefined) throw new Error(`could not start: ${command}`);
    let lastStatus = '';
    child.stdout?.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      lastStatus = lines[lines.length - 1] ?? lastStatus;
    });

    const rxStart = listener.received();
    await sleep(WARMUP_MS);
    const rss: number[] = [];
    const cpu: number[] = [];
    const treeRss: number[] = [];
    let prev = treeUsage(rootPid, match);
    let prevAt = performance.now();
    for (let i = 0; i < seconds; i++) {
      await sleep(1_000);
      if (child.exitCode !== null) throw new Error(`measured command exited early (code ${child.exitCode})`);
      const cur = treeUsage(rootPid, match);
      const at = performance.now();
      if (cur.matched === 0) throw new Error(`no process of the tree matches --match ${args.match}`);
      cpu.push(((cur.ticks - prev.ticks) / CLOCK_TICKS / ((at - prevAt) / 1000)) * 100);
      rss.push(cur.rssMb);
      treeRss.push(cur.treeRssMb);
      prev = cur;
      prevAt = at;
    }
    const rxEnd = listener.received();
    const streamKbps = ((rxEnd.bytes - rxStart.bytes) * 8) / (rxEnd.at - rxStart.at);

    const report = await renderReport({
      command: args.cmd ?? 'default: ObsLink + MetricsHub + SystemMetrics (`--child`), sampling every 500 ms',
      match: args.match ?? null,
      seconds,
      rss,
      treeRss,
      cpu,
      streamKbps,
      lastStatus,
    });
    writeReport(args.out, report);
    process.stdout.write(`${report}\nwritten to ${args.out}\n`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await stop();
  }
}

async function renderReport(r: {
  command: string;
  match: string | null;
  seconds: number;
  rss: number[];
  treeRss: number[];
  cpu: number[];
  streamKbps: number;
  lastStatus: string;
}): Promise<string> {
  const { loadAverages, percentileAtIndex: pct } = await import('./lib/report.js');
  const mean = r.cpu.reduce((a, b) => a + b, 0) / r.cpu.length;
  const f = (n: number) => n.toFixed(1);
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const rssOk = Math.max(...r.rss) <= 100;
  const cpuOk = mean <= 3;
  return [
    '# Engine resources with OBS connected and streaming',
    '',
    `Date: ${new Date().toISOString()}`,
    `Machine: ${cpus().length} cores (${cpuModel}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Debian 12, Node ${process.version}.`,
    `Load average at the end: ${loadAverages()} — other work (the headless OBS encoding x264, srt-live-transmit, and other engineers' builds and tests) was running on the machine at the time.`,
    '',
    'Setup: headless OBS 29 (1280x720 colour source, x264 2500 kb/s) streaming over SRT to a local',
    `\`srt-live-transmit\` listener (${f(r.streamKbps)} kb/s received during the run).`,
    `Measured command: ${r.command}.`,
    r.match
      ? `Counted: the processes of its tree whose command line matches \`${r.match}\` (the whole tree: RSS p50 ${f(pct(r.treeRss, 50))} MB, max ${f(Math.max(...r.treeRss))} MB).`
      : 'Counted: the whole process tree.',
    `Warm-up ${WARMUP_MS / 1000} s, then ${r.seconds} one-second samples from \`/proc/<pid>/stat\` (utime+stime) and \`/proc/<pid>/status\` (VmRSS).`,
    `Last status line of the measured process: \`${r.lastStatus || '(none)'}\``,
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| RSS p50 | ${f(pct(r.rss, 50))} MB | |`,
    `| RSS max | ${f(Math.max(...r.rss))} MB | ≤ 100 MB ${rssOk ? '✅' : '❌'} |`,
    `| CPU mean (% of one core) | ${f(mean)} % | ≤ 3 % ${cpuOk ? '✅' : '❌'} |`,
    `| CPU p50 | ${f(pct(r.cpu, 50))} % | |`,
    `| CPU p95 | ${f(pct(r.cpu, 95))} % | |`,
    `| CPU max (1 s window) | ${f(Math.max(...r.cpu))} % | |`,
    '',
    'Reference points on this machine: an idle `node` is ≈ 40 MB RSS (≈ 30 MB of it the mapped node',
    'binary), and loading a TypeScript file through the tsx loader adds ≈ 35 MB, which is why `telemy`',
    'runs its esbuild bundle (`npm run build`).',
    '',
    'Rerun: `node --import tsx scripts/bench/engine-resources.ts [--seconds 60] [--cmd "<command>"] [--match <regex>]`.',
    '',
  ].join('\n');
}
