#!/usr/bin/env node
// Runs the bundle from `npm run build` when it is newer than every source file it was built from;
// otherwise the TypeScript sources through tsx's loader, so an edited checkout never runs stale code.
import { readFileSync, statSync } from 'node:fs';

const bundle = new URL('../dist/telemy.js', import.meta.url);
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

if (bundleIsCurrent()) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
