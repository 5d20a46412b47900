import { createHash } from 'node:crypto';
import { randomToken } from '@telemy/protocol';

export { base32, newApiKey, randomToken } from '@telemy/protocol';

/** Row ids: a table prefix (`usr`, `ses`, …) and 20 random base32 characters. */
export function newId(prefix: 'usr' | 'key' | 'rly' | 'ses' | 'use' | 'adj'): string {
  return `${prefix}_${randomToken(20).toLowerCase()}`;
}

/** Secrets are stored only as this hash; comparing hashes makes lookups constant-shape. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export const newRelayCredential = (): string => `rly_${randomToken(40)}`;
/** SRT passphrases must be 10-79 characters; 24 base32 characters carry 120 bits. */
export const newPassphrase = (): string => randomToken(24);
