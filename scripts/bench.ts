/**
 * `npm run bench -- <name> [options]` runs `scripts/bench/<name>.ts` with its options (each script's
 * header says what it measures, its options and the report it writes); without a name it lists them.
 * Benchmarks share the machine with tests: run them under `flock /tmp/telemy-bench.lock`, and those
 * that start OBS under `flock /tmp/telemy-obs.lock` too.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const DIR = path.join(import.meta.dirname, 'bench');
// What the benchmarks share lives in bench/lib/, so every .ts file here is one benchmark.
const names = readdirSync(DIR)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !names.includes(name)) {
  if (name !== undefined) process.stderr.write(`bench: no benchmark "${name}"\n`);
  process.stdout.write(`usage: npm run bench -- <name> [options]\nbenchmarks: ${names.join(', ')}\n`);
  process.exit(name === undefined ? 0 : 2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(DIR, `${name}.ts`), ...rest], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
