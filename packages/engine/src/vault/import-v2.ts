import { readFileSync } from 'node:fs';
import { errorText } from '@telemy/protocol';
import type { Vault } from './vault.js';

/**
 * Imports a Telemy v0.0.2 `vault.json`: `{ "entries": { name: value } }` or a flat `{ name: value }`.
 * Values were base64 on Linux/macOS and DPAPI-protected on Windows (marked `dpapi:` or `{ "dpapi": … }`).
 * DPAPI blobs can only be opened by Windows for the same user, so elsewhere they are listed to re-enter.
 */
export interface ImportV2Result {
  imported: string[];
  reenter: { name: string; reason: string }[];
}

export function importV2Vault(
  file: string,
  vault: Vault,
  platform: NodeJS.Platform = process.platform,
): ImportV2Result {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read v0.0.2 vault ${file}: ${errorText(err)}`);
  }
  const table = (raw as { entries?: unknown }).entries ?? raw;
  if (table === null || typeof table !== 'object' || Array.isArray(table))
    throw new Error(`${file} is not a v0.0.2 vault (expected an object of entries)`);
  const result: ImportV2Result = { imported: [], reenter: [] };
  for (const [oldName, value] of Object.entries(table as Record<string, unknown>)) {
    const name = oldName
      .toLowerCase()
      .replace(/[^a-z0-9_.-]/g, '_')
      .slice(0, 64);
    const dpapi =
      typeof value === 'object' && value !== null && 'dpapi' in value
        ? true
        : typeof value === 'string' && value.startsWith('dpapi:');
    if (dpapi) {
      result.reenter.push({
        name,
        reason:
          platform === 'win32'
            ? 'DPAPI values are not read by this build; set it again'
            : 'DPAPI-protected on Windows; it can only be decrypted there',
      });
      continue;
    }
    const b64 =
      typeof value === 'string'
        ? value
        : typeof value === 'object' && value !== null && 'base64' in value
          ? String((value as { base64: unknown }).base64)
          : null;
    if (b64 === null || !/^[A-Za-z0-9+/=\s]*$/.test(b64)) {
      result.reenter.push({ name, reason: 'not a base64 value' });
      continue;
    }
    vault.set(name, Buffer.from(b64, 'base64').toString('utf8'));
    result.imported.push(name);
  }
  return result;
}
