/**
 * Bundles the `telemy` command into `dist/` with esbuild: the workspace packages' TypeScript becomes
 * plain ESM that Node runs without the tsx loader (which alone costs a long-running engine ~35 MB of
 * memory). npm dependencies stay external and load from node_modules as usual; lazily imported
 * subsystems (chat, the embedded control plane, the shim) stay separate chunks, loaded on first use.
 * `dist/inputs.json` lists the source files, so `bin/telemy.js` can tell a stale bundle from a current one;
 * `dist/externals.json` the npm packages the bundle imports, the runtime dependencies of a release.
 *
 *   npm run build -w @telemy/cli
 */
import { rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const cliRoot = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(cliRoot, '../..');
const outdir = path.join(cliRoot, 'dist');

/** Only `@telemy/*` is compiled in; every other bare import is left to Node's resolution at run time. */
const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@telemy/') ? undefined : { path: args.path, external: true },
    );
  },
};

// Chunk names carry content hashes: without a clean folder, old chunks pile up beside the new ones.
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: repoRoot,
  entryPoints: { telemy: path.join(cliRoot, 'src', 'main.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [externalNpmPackages],
});

const inputs = Object.keys(result.metafile.inputs).sort();
writeFileSync(path.join(outdir, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; Node's own modules → null. */
function npmPackageOf(specifier: string): string | null {
  if (specifier.startsWith('node:') || isBuiltin(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}
const externals = new Set<string>();
for (const output of Object.values(result.metafile.outputs))
  for (const imp of output.imports) {
    const name = imp.external ? npmPackageOf(imp.path) : null;
    if (name) externals.add(name);
  }
writeFileSync(path.join(outdir, 'externals.json'), `${JSON.stringify([...externals].sort(), null, 1)}\n`);
process.stdout.write(`telemy bundle: ${inputs.length} source files → ${path.relative(repoRoot, outdir)}/\n`);
