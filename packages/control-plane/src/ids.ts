import { createHash, randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: safe inside URLs and as an SRT passphrase. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A random base32 string of `chars` characters (5 bits of entropy each). */
export function randomToken(chars: number): string {
  return base32(randomBytes(Math.ceil((chars * 5) / 8))).slice(0, chars);
}

/** Row ids: a table prefix (`usr`, `ses`, …) and 20 random base32 characters. */
export function newId(prefix: 'usr' | 'key' | 'rly' | 'ses' | 'use' | 'adj'): string {
  return `${prefix}_${randomToken(20).toLowerCase()}`;
}

/** Secrets are stored only as this hash; comparing hashes makes lookups constant-shape. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export const newApiKey = (): string => `tmk_${randomToken(40)}`;
export const newRelayCredential = (): string => `rly_${randomToken(40)}`;
/** SRT passphrases must be 10-79 characters; 24 base32 characters carry 120 bits. */
export const newPassphrase = (): string => randomToken(24);
