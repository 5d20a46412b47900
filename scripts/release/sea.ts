/**
 * Builds the Telemy single executable (Node SEA) from the npm package that `pack.ts` makes.
 *
 *   npm run release:sea                                           # this machine's platform, into dist/
 *   node --import tsx scripts/release/sea.ts [--tarball dist/telemy-x.y.z.tgz] [--out <folder>]
 *        [--target linux-x64|linux-arm64|darwin-x64|darwin-arm64|win32-x64|win32-arm64]
 *        [--node <the target's node binary>]
 *
 * Steps: install the tarball with its runtime dependencies into a scratch prefix, as `npm install -g`
 * does for a user (for another target, npm's `--os`/`--cpu` pick that platform's prebuilt native
 * packages); pack the installed folder into one compressed asset; bundle `sea-main.ts`; make the
 * preparation blob with this Node (`--experimental-sea-config`); copy the target's Node binary and
 * inject the blob with postject. Another target needs that target's official Node binary of the
 * same version as this one (`--node`), since the blob is tied to the Node version that made it.
 * Prints the executable's path on its last line.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { globalPackageDir, type PayloadEntry, type SeaTarget, seaTarget } from './sea-target.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** postject is fetched by npm at this exact version when a build first needs it. */
const POSTJECT = 'postject@1.0.0-alpha.6';
/** The fuse Node's binary carries to tell a single executable from plain Node (Node's documented value). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(ROOT, 'dist') },
    tarball: { type: 'string' },
    target: { type: 'string', default: `${process.platform}-${process.arch}` },
    node: { type: 'string' },
  },
});

function run(cmd: string, argv: readonly string[], cwd: string): string {
  return execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The tarball to build from: the one given, or a fresh `pack.ts` run (its last line is the path). */
function tarball(stage: string): string {
  if (args.tarball) return path.resolve(args.tarball);
  const out = run(process.execPath, ['--import', 'tsx', 'scripts/release/pack.ts', '--out', stage], ROOT);
  return out.trim().split('\n').at(-1) ?? '';
}

/** Type declarations and source maps of dependencies: half the files, and nothing loads them at run time. */
const NOT_RUN = /\.(d\.[cm]?ts|map)$/;

/**
 * Every file of the installed package in a fixed order, contents back to back, less `NOT_RUN`.
 * `.bin` folders hold only links to dependencies' commands, which nothing in the package runs, and
 * a link would need rights to recreate on Windows: they are left out, and any other link is an error.
 */
function collect(dir: string): { index: PayloadEntry[]; data: Buffer[] } {
  const index: PayloadEntry[] = [];
  const data: Buffer[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      if (name === '.bin') continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (NOT_RUN.test(name)) continue;
      else if (st.isFile()) {
        index.push({ path: r, size: st.size, mode: st.mode & 0o777 });
        data.push(readFileSync(path.join(dir, r)));
      } else throw new Error(`${r}: only files and folders can be embedded`);
    }
  };
  walk('');
  return { index, data };
}

function expand(cmds: readonly (readonly string[])[], exe: string): void {
  for (const [cmd, ...rest] of cmds)
    run(
      cmd as string,
      rest.map((a) => a.replace('{exe}', exe)),
      ROOT,
    );
}

async function buildSea(target: SeaTarget): Promise<string> {
  const host = `${process.platform}-${process.arch}`;
  const nodeBinary = args.node ?? (target.id === host ? process.execPath : undefined);
  if (!nodeBinary) throw new Error(`--node <Node ${process.version} binary for ${target.id}> is needed`);
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  const stage = mkdtempSync(path.join(tmpdir(), 'telemy-sea-'));
  try {
    const tgz = tarball(stage);
    const prefix = path.join(stage, 'prefix');
    run(
      'npm',
      // The dependencies are pinned to exact versions, so npm's cache can answer without asking.
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        ...target.npmInstallOptions,
        tgz,
      ],
      stage,
    );
    const { index, data } = collect(globalPackageDir(process.platform, prefix, 'telemy'));
    const payload = gzipSync(Buffer.concat(data));
    const hash = createHash('sha256').update(JSON.stringify(index)).update(payload).digest('hex');
    writeFileSync(path.join(stage, 'index.json'), JSON.stringify(index));
    writeFileSync(path.join(stage, 'payload.gz'), payload);

    await build({
      entryPoints: [path.join(ROOT, 'scripts', 'release', 'sea-main.ts')],
      outfile: path.join(stage, 'sea-main.cjs'),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      define: { TELEMY_SEA_BUILD: JSON.stringify(`${version}-${hash.slice(0, 12)}`) },
      logLevel: 'warning',
    });
    writeFileSync(
      path.join(stage, 'sea-config.json'),
      JSON.stringify({
        main: 'sea-main.cjs',
        output: 'sea.blob',
        disableExperimentalSEAWarning: true,
        // A code cache and a snapshot are specific to the machine that makes them: off, so one
        // blob is valid for every target.
        useCodeCache: false,
        useSnapshot: false,
        assets: { 'index.json': 'index.json', 'payload.gz': 'payload.gz' },
      }),
    );
    run(process.execPath, ['--experimental-sea-config', 'sea-config.json'], stage);

    mkdirSync(args.out, { recursive: true });
    const exe = path.join(path.resolve(args.out), target.fileName);
    rmSync(exe, { force: true });
    copyFileSync(nodeBinary, exe);
    chmodSync(exe, 0o755);
    expand(target.unsign, exe);
    run(
      'npm',
      [
        'exec',
        '--yes',
        `--package=${POSTJECT}`,
        '--',
        'postject',
        exe,
        'NODE_SEA_BLOB',
        path.join(stage, 'sea.blob'),
        '--sentinel-fuse',
        SEA_FUSE,
        ...target.postjectOptions,
      ],
      stage,
    );
    expand(target.sign, exe);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    process.stdout.write(
      `telemy ${version} for ${target.id}: ${index.length} files embedded, ${mb(payload.length)} MB compressed; ` +
        `executable ${mb(statSync(exe).size)} MB\n${exe}\n`,
    );
    return exe;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

try {
  const [platform = '', arch = ''] = args.target.split('-');
  await buildSea(seaTarget(platform, arch));
} catch (err) {
  process.stderr.write(`release:sea: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
