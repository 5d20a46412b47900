import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDashboardServed } from '../support/installed-dashboard.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { startPostgres, type ThrowawayPostgres } from '../support/postgres.js';
import { childPids, cmdline } from '../support/procs.js';
import { type InstalledPackage, packAndInstall } from '../support/telemy-package.js';
import { startTelemy, type TelemyProcess } from '../support/telemy-process.js';

/**
 * The `telemy` npm package on a machine that has Node.js and nothing of this repository: packed by
 * `npm run release`, installed from a copy of the tarball outside the repository with its runtime
 * dependencies from the registry, then run as a user runs it — `--version`, `doctor`, `start`
 * against a headless OBS until the dashboard answers, and the control plane's migrations.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string })
  .version;
const OBS_PORT = 44800;
const DASHBOARD_PORT = 7281;
const PASSWORD = 'package-test-pw';

let pkg: InstalledPackage;
let obs: ObsHandle;
let telemy: TelemyProcess | null = null;
let pg: ThrowawayPostgres | null = null;

const newHome = () => mkdtempSync(path.join(pkg.dir, 'home-'));

function run(args: string[], home: string, input?: string) {
  const r = spawnSync(pkg.bin, args, {
    cwd: pkg.dir,
    env: pkg.env(home, { TELEMY_OBS_PORT: String(OBS_PORT) }),
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Every process of a tree, its root first. */
function tree(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(tree)];
}

beforeAll(async () => {
  pkg = packAndInstall();
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE'] });
}, 240_000);

afterAll(async () => {
  await telemy?.stop();
  await obs?.stop();
  await pg?.stop();
  pkg?.remove();
});

describe('the telemy npm package', () => {
  it('holds the bundle, the prebuilt dashboard and the migrations, and no sources nor dev tools', () => {
    const entries = execFileSync('tar', ['tzf', pkg.tarball], { encoding: 'utf8' }).trim().split('\n');
    const migrations = readdirSync(path.join(REPO, 'packages/control-plane/src/migrations'));
    for (const f of [
      'package/packages/cli/bin/telemy.js',
      'package/packages/cli/dist/telemy.js',
      'package/packages/dock/dist/index.html',
      'package/deploy/relay/cloud-init.yaml.tmpl',
      'package/deploy/systemd/telemy-control-plane.service',
      'package/CHANGELOG.md',
      ...migrations.map((m) => `package/packages/control-plane/src/migrations/${m}`),
    ])
      expect(entries).toContain(f);
    expect(entries.filter((e) => /\.(ts|tsx|map)$/.test(e) || e.includes('node_modules/'))).toEqual([]);

    const manifest = JSON.parse(readFileSync(path.join(pkg.root, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      bin: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies?: unknown;
    };
    expect(manifest).toMatchObject({
      name: 'telemy',
      version: VERSION,
      bin: { telemy: 'packages/cli/bin/telemy.js' },
    });
    expect(manifest.devDependencies).toBeUndefined();
    const deps = Object.keys(manifest.dependencies);
    expect(deps).toEqual(
      expect.arrayContaining(['fastify', '@electric-sql/pglite', 'obs-websocket-js', 'commander']),
    );
    for (const tool of ['tsx', 'vite', 'typescript', 'vitest', 'esbuild', 'preact'])
      expect(deps).not.toContain(tool);
    expect(deps.filter((d) => d.startsWith('@telemy/'))).toEqual([]);
    // Pinned to what this checkout was tested with.
    for (const v of Object.values(manifest.dependencies)) expect(v).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('telemy --version prints the product version', () => {
    const r = run(['--version'], newHome());
    expect(r).toEqual({ status: 0, out: `${VERSION}\n` });
  });

  it('telemy doctor runs the installed bundle and reaches OBS with the password from the vault', () => {
    const home = newHome();
    expect(run(['vault', 'set', 'obs_password'], home, PASSWORD).status).toBe(0);
    const r = run(['doctor'], home);
    expect(r.out).toMatch(/^ok +build +running the bundle/m);
    expect(r.out).toMatch(/^ok +obs +ws:\/\/127\.0\.0\.1:44800 reachable, .*authenticated/m);
    expect(r.out).toMatch(/^ok +config /m);
  });

  it('telemy start serves the dashboard from the package, OBS connected, no path into the repository', async () => {
    const home = newHome();
    expect(run(['vault', 'set', 'obs_password'], home, PASSWORD).status).toBe(0);
    telemy = startTelemy(['start'], {
      home,
      env: pkg.env(home, { TELEMY_OBS_PORT: String(OBS_PORT), TELEMY_SERVER_PORT: String(DASHBOARD_PORT) }),
      installed: { bin: pkg.bin, cwd: pkg.dir },
    });
    const [, url] = await telemy.waitFor(/dashboard: +(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/, 90_000);
    await expectDashboardServed(url as string, VERSION);

    const commands = tree(telemy.proc.pid as number).map(cmdline);
    expect(
      commands.some((c) => c.includes(`${pkg.root}/packages/cli/bin/telemy.js`) && c.includes(' engine')),
    ).toBe(true);
    expect(commands.filter((c) => c.includes(REPO))).toEqual([]);
    expect(await telemy.stop()).toBe(0);
    telemy = null;
  });

  it('telemy control-plane migrate applies the migrations the package ships', async () => {
    pg = await startPostgres();
    const migrations = readdirSync(path.join(REPO, 'packages/control-plane/src/migrations'));
    const r = spawnSync(pkg.bin, ['control-plane', 'migrate'], {
      cwd: pkg.dir,
      env: pkg.env(newHome(), { TELEMY_DATABASE_URL: pg.url }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      `applied migrations ${migrations.map((_, i) => i + 1).join(', ')} (schema version ${migrations.length})`,
    );
  });
});
