import { randomBytes } from 'node:crypto';

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

/**
 * A control-plane API key (200 bits). Here rather than in the control plane because the engine makes
 * the key of its embedded control plane itself: the key lives in the engine's vault, and the control
 * plane stores only its hash.
 */
export const newApiKey = (): string => `tmk_${randomToken(40)}`;
