import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding this module: `packages/protocol/src` in a checkout, somewhere in `dist` in a bundle. */
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The product root's manifest is named `telemy`: the repository's root and the published package alike. */
function isProductRoot(dir: string): boolean {
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'telemy';
}

let cachedRoot: string | undefined;

/**
 * The folder that holds `packages/<name>/` and the product's own `package.json`: the repository in
 * a checkout, the installed `telemy` package otherwise (it keeps the same layout). Found by walking
 * up from this module, so sources, the CLI's bundle and an installed package all find their own
 * files and never a checkout elsewhere on the machine.
 */
export function productRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  for (let dir = HERE; ; dir = path.dirname(dir)) {
    if (isProductRoot(dir)) {
      cachedRoot = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no Telemy installation above ${HERE}`);
  }
}

/** The folder of a Telemy workspace package (`@telemy/dock` → `<product root>/packages/dock`). */
export function packageRoot(name: `@telemy/${string}`): string {
  return path.join(productRoot(), 'packages', name.slice('@telemy/'.length));
}

/** The one version of the whole product: the `version` of the product root's `package.json`. */
export function productVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(productRoot(), 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof manifest.version !== 'string') throw new Error(`${productRoot()}/package.json has no version`);
  return manifest.version;
}
