/**
 * The entry of the Telemy single executable, bundled to one CommonJS file by `sea.ts`.
 *
 * The executable embeds the installed `telemy` package with its runtime dependencies (the bundle,
 * the dock's files, the migrations, the native prebuilt modules and PGlite's WebAssembly) as one
 * compressed asset. On first run it unpacks them into the user's cache folder, one subfolder per
 * build, then runs the CLI from there: code that reads its own files, loads a native module or
 * starts a child process works exactly as in the npm package.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { getAsset } from 'node:sea';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { gunzipSync } from 'node:zlib';
import { type PayloadEntry, seaCacheDir, seaInvocation } from './sea-target.js';

/** `<version>-<payload hash>`, set by the builder: a new build never runs an older unpacked copy. */
declare const TELEMY_SEA_BUILD: string;

const COMPLETE = '.telemy-sea-complete';

function unpack(dest: string): void {
  const index = JSON.parse(getAsset('index.json', 'utf8')) as PayloadEntry[];
  const data = gunzipSync(new Uint8Array(getAsset('payload.gz')));
  // Unpacked beside the final folder and renamed into place: two first runs at once never see half.
  const tmp = `${dest}.${process.pid}-${randomBytes(4).toString('hex')}`;
  const made = new Set<string>();
  let offset = 0;
  for (const e of index) {
    const file = path.join(tmp, ...e.path.split('/'));
    const dir = path.dirname(file);
    if (!made.has(dir)) mkdirSync(dir, { recursive: true });
    made.add(dir);
    writeFileSync(file, data.subarray(offset, offset + e.size), { mode: e.mode });
    offset += e.size;
  }
  if (offset !== data.length) throw new Error('the embedded package is damaged');
  writeFileSync(path.join(tmp, COMPLETE), '');
  try {
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(dest, COMPLETE))) throw err;
  }
}

async function main(): Promise<void> {
  const dest = path.join(seaCacheDir(process.platform, process.env, homedir()), TELEMY_SEA_BUILD);
  if (!existsSync(path.join(dest, COMPLETE))) {
    mkdirSync(path.dirname(dest), { recursive: true });
    // A folder without the marker is what a killed unpack left.
    rmSync(dest, { recursive: true, force: true });
    unpack(dest);
  }
  const cli = path.join(dest, 'packages', 'cli', 'bin', 'telemy.js');
  const run = seaInvocation(process.argv.slice(2), dest, cli);
  // V8 takes these after start only in part (heap sizes are fixed when the heap is made).
  for (const flag of run.v8Flags) setFlagsFromString(flag);
  process.argv = [process.execPath, run.script, ...run.args];
  await import(pathToFileURL(run.script).href);
}

main().catch((err: unknown) => {
  process.stderr.write(`telemy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
