import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `bin/telemy.js` chooses between the bundle and the sources. It is copied into a scratch checkout
 * whose "bundle" and "sources" only say which one ran, so the rule is tested without touching the
 * real tree's timestamps.
 */
const REAL_BIN = path.resolve(import.meta.dirname, '../bin/telemy.js');
const REPO_NODE_MODULES = path.resolve(import.meta.dirname, '../../../node_modules');

let root: string;
const cli = () => path.join(root, 'packages', 'cli');
const source = () => path.join(root, 'packages', 'engine', 'src', 'app.ts');
const run = () =>
  execFileSync(process.execPath, [path.join(cli(), 'bin', 'telemy.js')], { encoding: 'utf8' });
const setMtime = (file: string, secondsAgo: number) => {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, t, t);
};

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'telemy-bin-'));
  symlinkSync(REPO_NODE_MODULES, path.join(root, 'node_modules'));
  for (const dir of ['bin', 'src', 'dist']) mkdirSync(path.join(cli(), dir), { recursive: true });
  mkdirSync(path.dirname(source()), { recursive: true });
  copyFileSync(REAL_BIN, path.join(cli(), 'bin', 'telemy.js'));
  writeFileSync(path.join(cli(), 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(path.join(cli(), 'src', 'main.ts'), "const from: string = 'sources';\nconsole.log(from);\n");
  writeFileSync(source(), 'export {};\n');
  writeFileSync(path.join(cli(), 'dist', 'telemy.js'), "console.log('bundle');\n");
  writeFileSync(path.join(cli(), 'dist', 'inputs.json'), JSON.stringify(['packages/engine/src/app.ts']));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('bin/telemy.js', () => {
  it('runs the bundle when it is newer than every source it was built from', () => {
    setMtime(source(), 60);
    setMtime(path.join(cli(), 'dist', 'telemy.js'), 10);
    expect(run().trim()).toBe('bundle');
  });

  it('runs the sources through tsx once a source file is newer than the bundle', () => {
    setMtime(source(), 1);
    expect(run().trim()).toBe('sources');
  });

  it('runs the sources when a listed source is gone or the input list is missing', () => {
    setMtime(path.join(cli(), 'dist', 'telemy.js'), 0);
    writeFileSync(path.join(cli(), 'dist', 'inputs.json'), JSON.stringify(['packages/engine/src/gone.ts']));
    expect(run().trim()).toBe('sources');
    rmSync(path.join(cli(), 'dist', 'inputs.json'));
    expect(run().trim()).toBe('sources');
  });

  it('runs the bundle when there are no sources, as in an installed package', () => {
    setMtime(source(), 1);
    rmSync(path.join(cli(), 'dist', 'inputs.json'), { force: true });
    rmSync(path.join(cli(), 'src', 'main.ts'));
    expect(run().trim()).toBe('bundle');
  });
});
