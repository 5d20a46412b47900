import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Each workspace declares what its code imports, and nothing it does not: hoisting in the workspace
 * would otherwise hide a missing dependency until the package is installed on its own.
 */
const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')` and `require.resolve('x/…')`
 * (a test that runs a package's own binary), by the package they name.
 */
const IMPORTS = [
  /^\s*(?:import|export)\b[^'";]*?\bfrom\s+['"]([^'".][^'"]*)['"]/gm,
  /^\s*import\s+['"]([^'".][^'"]*)['"]/gm,
  /\bimport\(\s*['"]([^'".][^'"]*)['"]\s*\)/g,
  /\.resolve\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g,
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|tsx|js|mjs)$/.test(name) ? [p] : [];
  });
}

function packageName(specifier: string): string | null {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] as string))
    return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

function imports(paths: string[]): Set<string> {
  const out = new Set<string>();
  for (const f of paths)
    for (const re of IMPORTS)
      for (const m of readFileSync(f, 'utf8').matchAll(re)) {
        const name = packageName(m[1] as string);
        if (name) out.add(name);
      }
  return out;
}

const workspaces = readdirSync(PACKAGES).filter((d) => {
  try {
    return statSync(join(PACKAGES, d, 'package.json')).isFile();
  } catch {
    return false;
  }
});

describe('workspace dependencies', () => {
  it.each(workspaces)('%s declares every package its sources import, and only those', (ws) => {
    const dir = join(PACKAGES, ws);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const declared = new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.devDependencies ?? {}),
    ]);
    const runtime = imports(files(join(dir, 'src')));
    runtime.delete(pkg.name);
    // Anything the package's files use at all (sources, tests, bin, build scripts, tool configs).
    const anywhere = imports(files(dir));
    expect([...runtime].filter((n) => !declared.has(n)).sort(), 'imported but not declared').toEqual([]);
    expect([...declared].filter((n) => !anywhere.has(n)).sort(), 'declared but never imported').toEqual([]);
  });
});
