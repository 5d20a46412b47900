/**
 * What differs between the platforms a Telemy single executable (Node SEA) is built for, as pure
 * functions of the platform so that every branch is tested with the platform injected. The builder
 * (`sea.ts`) and the executable's entry (`sea-main.ts`) both take their platform decisions from here.
 */
import path from 'node:path';

/** One file of the embedded package (`index.json`); contents are back to back, in this order, in `payload.gz`. */
export interface PayloadEntry {
  /** Relative to the package's folder, with `/` on every platform. */
  path: string;
  size: number;
  mode: number;
}

export type SeaPlatform = 'linux' | 'darwin' | 'win32';

export interface SeaTarget {
  /** `linux-x64`, `darwin-arm64`, `win32-x64`: the suffix of the executable's file name. */
  readonly id: string;
  readonly platform: SeaPlatform;
  readonly arch: string;
  /** The executable's file name. */
  readonly fileName: string;
  /** postject's options besides the blob and the fuse: macOS keeps the blob in its own Mach-O segment. */
  readonly postjectOptions: readonly string[];
  /**
   * Commands run on the copied Node binary before (`unsign`) and after (`sign`) the injection, with
   * `{exe}` for its path. macOS refuses to run a binary whose signature no longer matches, so the
   * official signature comes off and an ad-hoc one goes on; a Windows executable runs unsigned
   * (signtool with the project's certificate is a release step, not a build step).
   */
  readonly unsign: readonly (readonly string[])[];
  readonly sign: readonly (readonly string[])[];
  /**
   * npm options that install the runtime dependencies for this platform rather than the build
   * machine's, so that the native packages embedded (the OS secret store binding, msgpackr's
   * extractor) are the target's prebuilt ones.
   */
  readonly npmInstallOptions: readonly string[];
}

const SUPPORTED: Record<SeaPlatform, readonly string[]> = {
  linux: ['x64', 'arm64'],
  darwin: ['x64', 'arm64'],
  win32: ['x64', 'arm64'],
};

export function isSeaPlatform(p: string): p is SeaPlatform {
  return p === 'linux' || p === 'darwin' || p === 'win32';
}

export function seaTarget(platform: string, arch: string): SeaTarget {
  if (!isSeaPlatform(platform) || !SUPPORTED[platform].includes(arch))
    throw new Error(`no single executable for ${platform}-${arch}`);
  const id = `${platform}-${arch}`;
  const npmInstallOptions = [`--os=${platform}`, `--cpu=${arch}`];
  if (platform === 'darwin')
    return {
      id,
      platform,
      arch,
      fileName: `telemy-${id}`,
      postjectOptions: ['--macho-segment-name', 'NODE_SEA'],
      unsign: [['codesign', '--remove-signature', '{exe}']],
      sign: [['codesign', '--sign', '-', '{exe}']],
      npmInstallOptions,
    };
  if (platform === 'win32')
    return {
      id,
      platform,
      arch,
      fileName: `telemy-${id}.exe`,
      postjectOptions: [],
      unsign: [],
      sign: [],
      npmInstallOptions,
    };
  // glibc builds: the prebuilt native packages npm picks for Linux are the -gnu ones.
  return {
    id,
    platform,
    arch,
    fileName: `telemy-${id}`,
    postjectOptions: [],
    unsign: [],
    sign: [],
    npmInstallOptions: [...npmInstallOptions, '--libc=glibc'],
  };
}

/** Where `npm install -g --prefix <prefix>` puts a package on the machine that runs npm. */
export function globalPackageDir(hostPlatform: string, prefix: string, name: string): string {
  return hostPlatform === 'win32'
    ? path.win32.join(prefix, 'node_modules', name)
    : path.posix.join(prefix, 'lib', 'node_modules', name);
}

/**
 * The folder the executable unpacks its embedded package into, one subfolder per build: the user's
 * cache folder of the platform, or `TELEMY_SEA_CACHE` when set (tests, read-only homes).
 */
export function seaCacheDir(platform: string, env: NodeJS.ProcessEnv, home: string): string {
  if (env.TELEMY_SEA_CACHE) return env.TELEMY_SEA_CACHE;
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (platform === 'win32')
    return p.join(env.LOCALAPPDATA ?? p.join(home, 'AppData', 'Local'), 'telemy', 'Cache');
  if (platform === 'darwin') return p.join(home, 'Library', 'Caches', 'telemy');
  return p.join(env.XDG_CACHE_HOME || p.join(home, '.cache'), 'telemy');
}

export interface SeaInvocation {
  /** V8 options given before the script (the engine's young-generation cap, `--single-threaded`). */
  readonly v8Flags: string[];
  /** The script to run: the CLI's `bin/telemy.js`, or another script of the unpacked package. */
  readonly script: string;
  readonly args: string[];
}

/**
 * What to run for the executable's arguments. The product starts its own children (the engine, the
 * embedded control plane, relays) as `process.execPath [flags] <package>/…/telemy.js <args>`, which
 * in a single executable is the executable itself: such a command line runs that script with the
 * flags applied; any other command line is the user's and runs the CLI. Only a script inside the
 * unpacked package counts, so a user's argument that looks like a path is never run.
 */
export function seaInvocation(argv: readonly string[], packageDir: string, cliBin: string): SeaInvocation {
  let i = 0;
  while (i < argv.length && argv[i]?.startsWith('--')) i++;
  const candidate = argv[i];
  const inside =
    candidate !== undefined &&
    i < argv.length &&
    isInside(packageDir, candidate) &&
    /\.[cm]?js$/.test(candidate);
  if (inside) return { v8Flags: argv.slice(0, i), script: candidate, args: argv.slice(i + 1) };
  return { v8Flags: [], script: cliBin, args: [...argv] };
}

function isInside(dir: string, file: string): boolean {
  const p = /^[A-Za-z]:[\\/]/.test(dir) || dir.startsWith('\\\\') ? path.win32 : path.posix;
  const rel = p.relative(dir, file);
  return p.isAbsolute(file) && rel !== '' && !rel.startsWith('..') && !p.isAbsolute(rel);
}
