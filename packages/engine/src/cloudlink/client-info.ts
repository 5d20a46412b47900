import { productVersion } from '@telemy/protocol';
import type { ClientPlatform } from './api-schemas.js';

/**
 * The product's version (one for every part of Telemy): sent as `X-Aegis-Client-Version`, shown by
 * `telemy --version`, `/healthz` and the dashboard.
 */
export const ENGINE_VERSION: string = productVersion();

/** Sent as `X-Aegis-Client-Platform`. */
export function clientPlatform(platform: NodeJS.Platform = process.platform): ClientPlatform {
  if (platform === 'win32') return 'windows';
  if (platform === 'darwin') return 'macos';
  return 'linux';
}
