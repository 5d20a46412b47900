import { createRequire } from 'node:module';
import type { ClientPlatform } from './api-schemas.js';

const require = createRequire(import.meta.url);

/** Sent as `X-Aegis-Client-Version`: the engine package's version. */
export const ENGINE_VERSION: string = (require('../../package.json') as { version: string }).version;

/** Sent as `X-Aegis-Client-Platform`. */
export function clientPlatform(platform: NodeJS.Platform = process.platform): ClientPlatform {
  if (platform === 'win32') return 'windows';
  if (platform === 'darwin') return 'macos';
  return 'linux';
}
