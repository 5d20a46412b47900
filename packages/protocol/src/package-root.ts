import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The folder of a Telemy workspace package, found through module resolution rather than a path
 * relative to the calling file, so it is the same whether the code runs from its TypeScript sources
 * or from the CLI's bundled build (where every module shares one file's location).
 */
export function packageRoot(name: `@telemy/${string}`): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}
