/**
 * The release checklist's automatic part (docs/RELEASING.md), stopping at the first failure:
 *
 *   npm run release:check                 # everything, the whole test suite included
 *   npm run release:check -- --quick      # the package and single-executable tests instead of the suite
 *   npm run release:check -- --allow-dirty   # rehearse with uncommitted changes
 *
 * 1. the work tree is committed (a release is built from a commit that can be tagged);
 * 2. one version everywhere: every workspace (its unit test), their `@telemy/*` dependencies and the
 *    lockfile;
 * 3. CHANGELOG.md has the version's section and docs/UPGRADING.md a section that ends at it;
 * 4. the test suite (`npm test`), whose end-to-end tests pack, install and run the npm package and
 *    build and run the single executable; `--quick` runs those two files only;
 * 5. the release files in dist/: the tarball and this platform's single executable, with sha256 sums.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'allow-dirty': { type: 'boolean', default: false },
  },
});

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
}
const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;

function step(name: string, fn: () => void): void {
  const started = Date.now();
  process.stdout.write(`release:check ${name} …\n`);
  fn();
  process.stdout.write(`release:check ${name}: ok (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
}

/** Runs a command with its output on ours; a failure ends the check. */
function sh(cmd: string, argv: string[]): void {
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** What differs from `version` in the workspaces' dependencies on each other and in the lockfile. */
function versionProblems(version: string): string[] {
  const problems: string[] = [];
  const workspaces = readdirSync(path.join(ROOT, 'packages')).filter((d) =>
    existsSync(path.join(ROOT, 'packages', d, 'package.json')),
  );
  const lock = readJson<{ version: string; packages: Record<string, { version?: string }> }>(
    'package-lock.json',
  );
  if (lock.version !== version) problems.push(`package-lock.json has ${lock.version}`);
  for (const d of workspaces) {
    const m = readJson<Manifest>(`packages/${d}/package.json`);
    for (const [dep, range] of Object.entries(m.dependencies ?? {}))
      if (dep.startsWith('@telemy/') && range !== version)
        problems.push(`packages/${d} depends on ${dep} ${range}`);
    const locked = lock.packages[`packages/${d}`]?.version;
    if (locked !== version) problems.push(`package-lock.json has packages/${d} at ${locked}`);
  }
  return problems;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function main(): void {
  const { version } = readJson<Manifest>('package.json');
  process.stdout.write(`release:check telemy ${version}\n`);

  step('committed', () => {
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty && !args['allow-dirty'])
      throw new Error(`uncommitted changes (--allow-dirty to rehearse):\n${dirty}`);
  });

  step('version', () => {
    sh('npx', ['vitest', 'run', 'packages/protocol/test/package-root.test.ts']);
    const problems = versionProblems(version);
    if (problems.length > 0) throw new Error(`not all at ${version}: ${problems.join('; ')}`);
  });

  step('changelog', () => {
    const escaped = version.replaceAll('.', '\\.');
    if (
      !new RegExp(`^## ${escaped} — \\d{4}-\\d{2}-\\d{2}$`, 'm').test(
        readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'),
      )
    )
      throw new Error(`CHANGELOG.md has no "## ${version} — YYYY-MM-DD" section`);
    if (
      !new RegExp(`^## From \\S+ to ${escaped}$`, 'm').test(
        readFileSync(path.join(ROOT, 'docs/UPGRADING.md'), 'utf8'),
      )
    )
      throw new Error(`docs/UPGRADING.md has no "## From <previous> to ${version}" section`);
  });

  if (args.quick)
    step('package and executable tests', () =>
      sh('npx', ['vitest', 'run', 'test/e2e/package.test.ts', 'test/e2e/sea.test.ts']),
    );
  else step('test suite', () => sh('npm', ['test']));

  step('release files', () => {
    sh('npm', ['run', 'release', '--silent']);
    const tarball = path.join(ROOT, 'dist', `telemy-${version}.tgz`);
    sh(process.execPath, ['--import', 'tsx', 'scripts/release/sea.ts', '--tarball', tarball]);
    const exe = path.join(ROOT, 'dist', `telemy-${process.platform}-${process.arch}`);
    for (const f of [tarball, exe]) process.stdout.write(`${sha256(f)}  ${path.relative(ROOT, f)}\n`);
  });

  process.stdout.write(
    `release:check telemy ${version}: all automatic steps passed; the manual ones are in docs/RELEASING.md\n`,
  );
}

try {
  main();
} catch (err) {
  process.stderr.write(`release:check: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
