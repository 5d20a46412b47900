import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '@telemy/protocol';
import type { ClientPlatform } from './api-schemas.js';

/** Sent as `X-Aegis-Client-Version`: the engine package's version. */
export const ENGINE_VERSION: string = (
  JSON.parse(readFileSync(path.join(packageRoot('@telemy/engine'), 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** Sent as `X-Aegis-Client-Platform`. */
export function clientPlatform(platform: NodeJS.Platform = process.platform): ClientPlatform {
  if (platform === 'win32') return 'windows';
  if (platform === 'darwin') return 'macos';
  return 'linux';
}
