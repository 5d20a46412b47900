import { SOURCE_TYPES, type SourceType } from '@telemy/protocol';
import type { SourceModule } from './source-module.js';

/**
 * The module of `type`: `types/<type>.ts` (`_` written `-`), which exports it as `source`. Found by
 * name, so a new type is its module and its entry in the shared source-type table, and no list here:
 * esbuild bundles every file of `types/` for this import, tsx and vitest load the file itself.
 */
async function load(type: SourceType): Promise<[SourceType, SourceModule]> {
  const file = type.replaceAll('_', '-');
  let mod: { source?: unknown };
  try {
    mod = await import(`./types/${file}.ts`);
  } catch (err) {
    throw new Error(`source type ${type}: its module sources/types/${file}.ts does not load`, { cause: err });
  }
  const source = mod.source as Partial<SourceModule> | undefined;
  if (typeof source?.runner !== 'function')
    throw new Error(`source type ${type}: sources/types/${file}.ts exports no \`source\` with a runner`);
  return [type, source as SourceModule];
}

/**
 * Every feed source type of the shared table, loaded before anything can start a source: a table
 * entry without its module fails the engine's start (and every test that imports it), not a feed.
 */
export const SOURCE_MODULES = Object.fromEntries(await Promise.all(SOURCE_TYPES.map(load))) as Record<
  SourceType,
  SourceModule
>;
