/**
 * The `telemy` npm package, made and installed the way a user gets it: `npm run release` packs it,
 * the tarball is copied into a scratch folder outside the repository and installed there with
 * `npm install -g --prefix` (its runtime dependencies come from the registry). `env()` gives the
 * installed command a PATH with only that prefix, Node and the system tools, and nothing that points
 * back into the repository. Used by the package test and the package benchmark.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');

export interface InstalledPackage {
  /** The scratch folder holding the tarball, the prefix and nothing from the repository. */
  readonly dir: string;
  readonly tarball: string;
  /** `<prefix>/lib/node_modules/telemy` */
  readonly root: string;
  /** `<prefix>/bin/telemy` */
  readonly bin: string;
  /** How long `npm install -g` took. */
  readonly installMs: number;
  /** The environment to run the installed `telemy` in, with `TELEMY_HOME` and `extra` added. */
  env(home: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  remove(): void;
}

/**
 * Builds and packs under the build lock (other work on the machine rebuilds the same `dist`), then
 * installs the tarball from a copy outside the repository.
 */
export function packAndInstall(): InstalledPackage {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemy-package-'));
  const out = execFileSync(
    'flock',
    ['/tmp/telemy-build.lock', 'npm', 'run', 'release', '--silent', '--', '--out', path.join(dir, 'out')],
    { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const packed = out.trim().split('\n').at(-1) ?? '';
  const tarball = path.join(dir, path.basename(packed));
  copyFileSync(packed, tarball);
  rmSync(path.join(dir, 'out'), { recursive: true, force: true });
  const prefix = path.join(dir, 'prefix');
  const started = Date.now();
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv(),
  });
  const installMs = Date.now() - started;
  return {
    dir,
    tarball,
    root: path.join(prefix, 'lib', 'node_modules', 'telemy'),
    bin: path.join(prefix, 'bin', 'telemy'),
    installMs,
    env: (home, extra) => ({
      ...cleanEnv(),
      PATH: [
        path.join(prefix, 'bin'),
        path.dirname(process.execPath),
        '/usr/local/bin',
        '/usr/bin',
        '/bin',
      ].join(':'),
      ...extra,
      TELEMY_HOME: home,
    }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * This process's environment without what ties it to the repository or to the test runner: the
 * caller's PATH (node_modules/.bin), Node's module and loader settings, npm's workspace variables.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'PATH' || k === 'NODE_PATH' || k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    if (k.startsWith('npm_') || k.startsWith('VITEST') || k.startsWith('TELEMY_')) continue;
    env[k] = v;
  }
  env.PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  return env;
}
