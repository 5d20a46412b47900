import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalPackageDir, seaCacheDir, seaInvocation, seaTarget } from '../../scripts/release/sea-target.js';
import { expectDashboardServed } from '../support/installed-dashboard.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { childPids } from '../support/procs.js';
import { startTelemy, type TelemyProcess } from '../support/telemy-process.js';

/**
 * The Telemy single executable (Node SEA) for Linux x64, built once by `npm run release:sea` and run
 * from a folder that holds nothing but the executable: no node_modules, no repository, a PATH without
 * the repository's tools. Before that, the platform decisions of the builder and the executable's
 * entry, with the platform injected.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string })
  .version;

describe('single executable targets, the platform injected', () => {
  it('names the executable, and signs only on macOS, where the blob has its own segment', () => {
    expect(seaTarget('linux', 'x64')).toMatchObject({
      fileName: 'telemy-linux-x64',
      postjectOptions: [],
      unsign: [],
      sign: [],
      npmInstallOptions: ['--os=linux', '--cpu=x64', '--libc=glibc'],
    });
    expect(seaTarget('win32', 'x64')).toMatchObject({
      fileName: 'telemy-win32-x64.exe',
      postjectOptions: [],
      sign: [],
      npmInstallOptions: ['--os=win32', '--cpu=x64'],
    });
    expect(seaTarget('darwin', 'arm64')).toMatchObject({
      fileName: 'telemy-darwin-arm64',
      postjectOptions: ['--macho-segment-name', 'NODE_SEA'],
      unsign: [['codesign', '--remove-signature', '{exe}']],
      sign: [['codesign', '--sign', '-', '{exe}']],
      npmInstallOptions: ['--os=darwin', '--cpu=arm64'],
    });
    expect(() => seaTarget('freebsd', 'x64')).toThrow(/no single executable for freebsd-x64/);
    expect(() => seaTarget('linux', 'ia32')).toThrow(/linux-ia32/);
  });

  it('unpacks into the cache folder each platform uses, or TELEMY_SEA_CACHE', () => {
    expect(seaCacheDir('linux', {}, '/home/u')).toBe('/home/u/.cache/telemy');
    expect(seaCacheDir('linux', { XDG_CACHE_HOME: '/xdg' }, '/home/u')).toBe('/xdg/telemy');
    expect(seaCacheDir('darwin', { XDG_CACHE_HOME: '/xdg' }, '/Users/u')).toBe(
      '/Users/u/Library/Caches/telemy',
    );
    expect(seaCacheDir('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Local\\telemy\\Cache',
    );
    expect(seaCacheDir('win32', {}, 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\telemy\\Cache');
    expect(seaCacheDir('win32', { TELEMY_SEA_CACHE: 'D:\\c' }, 'C:\\Users\\u')).toBe('D:\\c');
  });

  it("finds npm's global package folder as the build machine lays it out", () => {
    expect(globalPackageDir('linux', '/p', 'telemy')).toBe('/p/lib/node_modules/telemy');
    expect(globalPackageDir('darwin', '/p', 'telemy')).toBe('/p/lib/node_modules/telemy');
    expect(globalPackageDir('win32', 'C:\\p', 'telemy')).toBe('C:\\p\\node_modules\\telemy');
  });

  it("runs a script of the unpacked package for the product's own children, the CLI for anything else", () => {
    const pkg = '/c/0.2.0-abc';
    const cli = `${pkg}/packages/cli/bin/telemy.js`;
    expect(seaInvocation(['--max-semi-space-size=1', cli, 'engine', '--port', '1'], pkg, cli)).toEqual({
      v8Flags: ['--max-semi-space-size=1'],
      script: cli,
      args: ['engine', '--port', '1'],
    });
    expect(seaInvocation(['start'], pkg, cli)).toEqual({ v8Flags: [], script: cli, args: ['start'] });
    expect(seaInvocation(['--version'], pkg, cli)).toEqual({ v8Flags: [], script: cli, args: ['--version'] });
    // A path outside the package, or not a script, is an argument for the CLI.
    for (const argv of [
      ['--config', '/etc/x.js', 'start'],
      ['/tmp/evil.js'],
      [`${pkg}/../x.js`],
      [`${pkg}/a.toml`],
    ])
      expect(seaInvocation(argv, pkg, cli)).toEqual({ v8Flags: [], script: cli, args: argv });
    const win = 'C:\\Users\\u\\AppData\\Local\\telemy\\Cache\\0.2.0-abc';
    const winCli = `${win}\\packages\\cli\\bin\\telemy.js`;
    expect(seaInvocation(['--single-threaded', winCli, 'control-plane'], win, winCli)).toEqual({
      v8Flags: ['--single-threaded'],
      script: winCli,
      args: ['control-plane'],
    });
  });
});

const OBS_PORT = 44810;
const DASHBOARD_PORT = 7291;
const PASSWORD = 'sea-test-pw';

describe('the Linux x64 single executable', () => {
  let dir: string;
  let exe: string;
  let obs: ObsHandle | null = null;
  let telemy: TelemyProcess | null = null;

  /** Only the executable's folder and the system's own tools; the user's cache folder under HOME. */
  const env = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: '/usr/bin:/bin',
    HOME: path.join(dir, 'user'),
    TELEMY_OBS_PORT: String(OBS_PORT),
    ...extra,
    TELEMY_HOME: home,
  });
  const newHome = () => mkdtempSync(path.join(dir, 'home-'));
  const run = (args: string[], home: string, input?: string) => {
    const r = spawnSync(exe, args, { cwd: dir, env: env(home), input, encoding: 'utf8', timeout: 180_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'telemy-sea-'));
    const out = execFileSync(
      'flock',
      [
        '/tmp/telemy-build.lock',
        'npm',
        'run',
        'release:sea',
        '--silent',
        '--',
        '--out',
        path.join(dir, 'out'),
      ],
      { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const built = out.trim().split('\n').at(-1) ?? '';
    exe = path.join(dir, 'telemy');
    copyFileSync(built, exe);
    rmSync(path.join(dir, 'out'), { recursive: true, force: true });
    obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE'] });
  }, 900_000);

  afterAll(async () => {
    await telemy?.stop();
    await obs?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('telemy --version unpacks the embedded package on first run and prints the product version', () => {
    expect(readdirSync(dir).sort()).toEqual(['telemy']);
    expect(run(['--version'], newHome())).toEqual({ status: 0, out: `${VERSION}\n` });
    const [unpacked] = readdirSync(path.join(dir, 'user', '.cache', 'telemy'));
    expect(unpacked).toMatch(new RegExp(`^${VERSION.replaceAll('.', '\\.')}-[0-9a-f]{12}$`));
    const root = path.join(dir, 'user', '.cache', 'telemy', unpacked as string);
    expect(existsSync(path.join(root, 'packages', 'dock', 'dist', 'index.html'))).toBe(true);
    expect(existsSync(path.join(root, 'node_modules', 'fastify', 'package.json'))).toBe(true);
    // The second run uses the unpacked copy.
    expect(run(['--version'], newHome())).toEqual({ status: 0, out: `${VERSION}\n` });
    expect(readdirSync(path.join(dir, 'user', '.cache', 'telemy'))).toEqual([unpacked]);
  });

  it('telemy doctor reaches OBS with the password from the vault', () => {
    const home = newHome();
    expect(run(['vault', 'set', 'obs_password'], home, PASSWORD).status).toBe(0);
    const r = run(['doctor'], home);
    expect(r.out).toMatch(/^ok +obs +ws:\/\/127\.0\.0\.1:44810 reachable, .*authenticated/m);
  });

  it('telemy start serves the dock and /healthz, its engine a child of the executable, OBS connected', async () => {
    const home = newHome();
    expect(run(['vault', 'set', 'obs_password'], home, PASSWORD).status).toBe(0);
    telemy = startTelemy(['start'], {
      home,
      env: env(home, { TELEMY_SERVER_PORT: String(DASHBOARD_PORT) }),
      installed: { bin: exe, cwd: dir },
    });
    const [, url] = await telemy.waitFor(/dashboard: +(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/, 120_000);
    await expectDashboardServed(url as string, VERSION);

    // Every process of the tree (the shim and the engine it supervises) is the executable, not Node.
    const tree = (pid: number): number[] => [pid, ...childPids(pid).flatMap(tree)];
    const pids = tree(telemy.proc.pid as number);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(new Set(pids.map((p) => readlinkSync(`/proc/${p}/exe`)))).toEqual(new Set([exe]));
    expect(await telemy.stop()).toBe(0);
    telemy = null;
  });
});
