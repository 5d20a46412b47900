import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '@telemy/protocol';

/**
 * Node-side entry of the dock package: where the built app lives, for the engine's static file
 * server, and a build-if-stale helper for tests and `telemy start` from a fresh checkout.
 */

export const dockRootDir = packageRoot('@telemy/dock');
export const dockDistDir = path.join(dockRootDir, 'dist');
export const dockIndexHtml = path.join(dockDistDir, 'index.html');

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, name)));
  return newest;
}

/** True when `dist` is missing or older than any source file, the page or the Vite config. */
export function dockBuildIsStale(): boolean {
  let built: number;
  try {
    built = statSync(dockIndexHtml).mtimeMs;
  } catch {
    return true;
  }
  const inputs = [
    'src',
    'public',
    'index.html',
    'vite.config.ts',
    path.join('..', 'protocol', 'src', 'dock'),
    // The dock's schemas import the shared automation vocabulary (flags, roles, states).
    path.join('..', 'protocol', 'src', 'automation.ts'),
  ];
  return inputs.some((p) => newestMtime(path.join(dockRootDir, p)) > built);
}

/** Builds the production bundle with Vite when it is missing or stale; returns the dist folder. */
export async function ensureDockBuilt(): Promise<string> {
  if (!dockBuildIsStale()) return dockDistDir;
  const { build } = await import('vite');
  // Under vitest NODE_ENV is "test", which makes Vite and the Preact preset ship development code.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: dockRootDir,
      configFile: path.join(dockRootDir, 'vite.config.ts'),
      logLevel: 'warn',
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  return dockDistDir;
}
