/**
 * Makes the `telemy` npm package: one tarball with the CLI's bundle, the prebuilt dock, the control
 * plane's migrations and the relay's cloud-init template, and as dependencies only the npm packages
 * the bundle imports, pinned to the versions this checkout was built and tested with.
 *
 *   npm run release                                      # build, then pack into dist/
 *   node --import tsx scripts/release/pack.ts [--out <folder>]   # pack an existing, current build
 *
 * The package keeps the repository's layout for the files it ships (`packages/<name>/…`, `deploy/…`),
 * so code finds them the same way in a checkout and in an install (`productRoot()` in the protocol
 * package). Prints the tarball's path on its last line.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
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

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'packages', 'cli');

const { values: args } = parseArgs({
  options: { out: { type: 'string', default: path.join(ROOT, 'dist') } },
});

interface Manifest {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The same rule `bin/telemy.js` applies: a bundle older than one of its sources would ship stale code. */
function assertBundleCurrent(): void {
  const bundle = path.join(CLI, 'dist', 'telemy.js');
  const dockIndex = path.join(ROOT, 'packages', 'dock', 'dist', 'index.html');
  if (!existsSync(bundle) || !existsSync(dockIndex)) throw new Error('no build: run `npm run build` first');
  const built = statSync(bundle).mtimeMs;
  const stale = readJson<string[]>(path.join(CLI, 'dist', 'inputs.json')).filter(
    (f) => statSync(path.join(ROOT, f)).mtimeMs > built,
  );
  if (stale.length > 0) throw new Error(`the bundle is older than ${stale[0]}: run \`npm run build\` first`);
}

/**
 * Every npm package the bundle imports, at the version installed here. A package that a workspace
 * lists only among its devDependencies (Vite, for rebuilding the dock from sources in tests) is left
 * out: the code that imports it only runs in a checkout.
 */
function runtimeDependencies(): Record<string, string> {
  const workspaces = readdirSync(path.join(ROOT, 'packages'))
    .map((d) => path.join(ROOT, 'packages', d))
    .filter((d) => existsSync(path.join(d, 'package.json')));
  const declared = (field: 'dependencies' | 'devDependencies') =>
    new Set(
      workspaces.flatMap((d) => Object.keys(readJson<Manifest>(path.join(d, 'package.json'))[field] ?? {})),
    );
  const runtime = declared('dependencies');
  const dev = declared('devDependencies');
  const deps: Record<string, string> = {};
  for (const name of readJson<string[]>(path.join(CLI, 'dist', 'externals.json'))) {
    if (!runtime.has(name)) {
      if (dev.has(name)) continue;
      throw new Error(`the bundle imports ${name}, which no workspace declares as a dependency`);
    }
    const installed = workspaces
      .map((d) => path.join(d, 'node_modules', name, 'package.json'))
      .concat(path.join(ROOT, 'node_modules', name, 'package.json'))
      .find((f) => existsSync(f));
    if (!installed) throw new Error(`${name} is not installed: run \`npm install\``);
    deps[name] = readJson<Manifest>(installed).version;
  }
  return deps;
}

/** Copies `rel` (a file or folder of the repository) to the same place in the package. */
function ship(stage: string, rel: string, filter?: (src: string) => boolean): void {
  const dest = path.join(stage, rel);
  mkdirSync(path.dirname(dest), { recursive: true });
  cpSync(path.join(ROOT, rel), dest, { recursive: true, filter });
}

function pack(): void {
  assertBundleCurrent();
  const root = readJson<Manifest>(path.join(ROOT, 'package.json'));
  const stage = mkdtempSync(path.join(tmpdir(), 'telemy-release-'));
  try {
    ship(stage, 'packages/cli/bin/telemy.js');
    ship(stage, 'packages/cli/dist/telemy.js');
    ship(stage, 'packages/cli/dist/chunks', (src) => !src.endsWith('.map'));
    ship(stage, 'packages/dock/dist');
    ship(stage, 'packages/control-plane/src/migrations');
    ship(stage, 'deploy/relay/cloud-init.yaml.tmpl');
    ship(stage, 'deploy/systemd');
    ship(stage, 'README.md');
    ship(stage, 'CHANGELOG.md');
    ship(stage, 'docs/UPGRADING.md');
    const manifest = {
      name: 'telemy',
      version: root.version,
      description: root.description,
      license: root.license,
      type: 'module',
      engines: root.engines,
      bin: { telemy: 'packages/cli/bin/telemy.js' },
      dependencies: runtimeDependencies(),
    };
    writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    mkdirSync(args.out, { recursive: true });
    const out = path.resolve(args.out);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: stage, encoding: 'utf8' }),
    ) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
    const info = packed[0];
    if (!info) throw new Error('npm pack wrote no tarball');
    const tarball = path.join(out, info.filename);
    process.stdout.write(
      `telemy ${root.version}: ${info.entryCount} files, ${(info.size / 1e6).toFixed(2)} MB packed, ` +
        `${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${Object.keys(manifest.dependencies).length} dependencies\n` +
        `${tarball}\n`,
    );
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

try {
  pack();
} catch (err) {
  process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
