#!/usr/bin/env node
// Runs the bundle from `npm run build` when it is newer than every source file it was built from;
// otherwise the TypeScript sources through tsx's loader, so an edited checkout never runs stale code.
// An installed package has no sources: it always runs its bundle.
import { existsSync, readFileSync, statSync } from 'node:fs';

const bundle = new URL('../dist/telemy.js', import.meta.url);
const sources = new URL('../src/main.ts', import.meta.url);
const repoRoot = new URL('../../../', import.meta.url);

function bundleIsCurrent() {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL('../dist/inputs.json', import.meta.url), 'utf8'));
    return inputs.every((f) => statSync(new URL(f, repoRoot)).mtimeMs <= built);
  } catch {
    return false;
  }
}

if (!existsSync(sources) || bundleIsCurrent()) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
}
