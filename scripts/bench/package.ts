/**
 * The `telemy` npm package: its size (packed, unpacked, installed with its dependencies), how long
 * `npm install -g` of it takes, and the cold start of `telemy start` from it until the dashboard
 * answers.
 *
 *   flock /tmp/telemy-bench.lock flock /tmp/telemy-obs.lock node --import tsx scripts/bench/package.ts [--runs 5] [--out <file>]
 *
 * Packs and installs the package the way the package test does (test/support/telemy-package.ts:
 * `npm run release`, the tarball copied out of the repository, `npm install -g --prefix`), starts a
 * headless OBS, then `--runs` times: a new data folder holding only the OBS password, `telemy start`
 * from the installed package, and the time from the spawn until the dashboard page (with its token)
 * answers 200, and until `/api/state` says OBS is connected. Each run is a first start of its data
 * folder (vault key, access token and engine state created); the package's files are in the OS
 * cache after the install. Writes a Markdown report.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type ObsHandle, startObs } from '../../test/support/obs-harness.js';
import { type InstalledPackage, packAndInstall } from '../../test/support/telemy-package.js';
import { eventually, startTelemy } from '../../test/support/telemy-process.js';
import { engineApi } from './lib/engine.js';
import { latencyRow, loadAverages, machine, writeReport } from './lib/report.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OBS_PORT = 44801;
const DASHBOARD_PORT = 7282;
const PASSWORD = 'package-bench-pw';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    out: { type: 'string', default: join(ROOT, 'docs/bench/package.md') },
  },
});

/** Bytes of a folder, as `du` counts the disk it takes. */
function diskBytes(dir: string): number {
  return Number(execFileSync('du', ['-sB1', dir], { encoding: 'utf8' }).split('\t')[0]);
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

interface Run {
  dashboardMs: number;
  obsConnectedMs: number;
}

async function coldStart(pkg: InstalledPackage): Promise<Run> {
  const home = mkdtempSync(join(pkg.dir, 'home-'));
  const env = pkg.env(home, {
    TELEMY_OBS_PORT: String(OBS_PORT),
    TELEMY_SERVER_PORT: String(DASHBOARD_PORT),
  });
  const vault = spawnSync(pkg.bin, ['vault', 'set', 'obs_password'], { env, input: PASSWORD, cwd: pkg.dir });
  if (vault.status !== 0) throw new Error(`vault set failed: ${vault.stderr}`);
  const started = Date.now();
  const telemy = startTelemy(['start'], { home, env, installed: { bin: pkg.bin, cwd: pkg.dir } });
  try {
    const [, url] = await telemy.waitFor(/dashboard: +(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/, 120_000);
    // Each poll stamps its own answer: the step only sets how often it asks.
    const { value: dashboardMs } = await eventually(
      async () => ((await fetch(url as string)).ok ? Date.now() - started : null),
      60_000,
      20,
    );
    const api = engineApi(DASHBOARD_PORT, new URL(url as string).searchParams.get('token') ?? '');
    const { value: obsConnectedMs } = await eventually(
      async () =>
        (await api.get<{ obs: { connection: string } }>('/api/state')).obs.connection === 'connected'
          ? Date.now() - started
          : null,
      60_000,
      20,
    );
    return { dashboardMs, obsConnectedMs };
  } finally {
    const code = await telemy.stop();
    if (code !== 0) process.stderr.write(`telemy start exited ${code}\n${telemy.stderr().slice(-2000)}\n`);
  }
}

const runs = Number(args.runs);
const pkg = packAndInstall();
let obs: ObsHandle | null = null;
try {
  const tarballBytes = statSync(pkg.tarball).size;
  const unpackedBytes = diskBytes(pkg.root) - diskBytes(join(pkg.root, 'node_modules'));
  const installedBytes = diskBytes(dirname(dirname(dirname(pkg.root))));
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE'] });
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await coldStart(pkg);
    results.push(r);
    process.stdout.write(
      `run ${i + 1}: dashboard ${r.dashboardMs} ms, OBS connected ${r.obsConnectedMs} ms\n`,
    );
  }
  const s = (ms: number[]) => ms.map((v) => v / 1000);
  const report = [
    '# The telemy package: size and cold start',
    '',
    `Written by \`scripts/bench/package.ts\` on ${new Date().toISOString()}.`,
    `Machine: ${machine()}; load average at the end ${loadAverages(1, ' ')}.`,
    '',
    '## Size',
    '',
    '| what | MB |',
    '|---|---|',
    `| tarball (\`npm run release\`) | ${mb(tarballBytes)} |`,
    `| the package's own files, installed | ${mb(unpackedBytes)} |`,
    `| installed with its runtime dependencies (\`npm install -g\` prefix) | ${mb(installedBytes)} |`,
    '',
    `\`npm install -g\` of the tarball took ${(pkg.installMs / 1000).toFixed(1)} s (dependencies from the registry, npm's cache as this machine had it).`,
    '',
    '## Cold start of `telemy start`',
    '',
    'From the spawn of the installed `telemy start` (a new data folder each run) until the dashboard',
    'page answers 200, and until `/api/state` reports OBS connected. Seconds.',
    '',
    '| | n | p50 | p95 | max |',
    '|---|---|---|---|---|',
    latencyRow('dashboard answers', s(results.map((r) => r.dashboardMs)), 2),
    latencyRow('OBS connected', s(results.map((r) => r.obsConnectedMs)), 2),
    '',
    `Runs (dashboard / OBS connected, ms): ${results.map((r) => `${r.dashboardMs} / ${r.obsConnectedMs}`).join(', ')}.`,
    '',
  ].join('\n');
  writeReport(args.out, report);
  process.stdout.write(`${report}\nwrote ${args.out}\n`);
} finally {
  await obs?.stop();
  pkg.remove();
}
