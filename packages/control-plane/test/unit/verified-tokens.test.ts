import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { hs256Config, signAccessToken } from '../../src/auth/jwt.js';
import { VerifiedTokens } from '../../src/auth/verified-tokens.js';

const cfg = hs256Config('unit-secret-0123456789abcdef0123456789');
const T = Date.parse('2026-03-10T12:00:00.000Z');

describe('VerifiedTokens', () => {
  it('a remembered token still expires at exp on the clock (jose: expired when exp <= now)', async () => {
    const tokens = new VerifiedTokens(cfg);
    const { token } = await signAccessToken(cfg, 'usr_a', T, 60);
    expect(await tokens.verify(token, T)).toBe('usr_a');
    expect(tokens.size).toBe(1);
    expect(await tokens.verify(token, T + 59_999)).toBe('usr_a');
    expect(await tokens.verify(token, T + 60_000)).toBeNull();
  });

  it('a remembered token is refused before nbf', async () => {
    const tokens = new VerifiedTokens(cfg);
    const nbf = Math.floor(T / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('usr_b')
      .setIssuer(cfg.issuer)
      .setAudience(cfg.audience)
      .setNotBefore(nbf)
      .setExpirationTime(nbf + 600)
      .sign(cfg.verifyKey as Uint8Array);
    expect(await tokens.verify(token, T + 1000)).toBe('usr_b');
    expect(await tokens.verify(token, T - 1000)).toBeNull();
  });

  it('invalid tokens are never remembered, and a forged signature on a known payload is refused', async () => {
    const tokens = new VerifiedTokens(cfg);
    const { token } = await signAccessToken(cfg, 'usr_c', T, 600);
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}AAAA${token.slice(token.lastIndexOf('.') + 5)}`;
    expect(await tokens.verify(forged, T)).toBeNull();
    expect(tokens.size).toBe(0);
    expect(await tokens.verify(token, T)).toBe('usr_c');
    expect(await tokens.verify(forged, T)).toBeNull();
    const other = hs256Config('other-secret-0123456789abcdef0123456789');
    const foreign = (await signAccessToken(other, 'usr_c', T, 600)).token;
    expect(await tokens.verify(foreign, T)).toBeNull();
    expect(tokens.size).toBe(1);
  });

  it('stays within its bound, dropping the oldest token first', async () => {
    const tokens = new VerifiedTokens(cfg, 2);
    const t = await Promise.all(['usr_1', 'usr_2', 'usr_3'].map((u) => signAccessToken(cfg, u, T, 600)));
    for (const { token } of t) await tokens.verify(token, T);
    expect(tokens.size).toBe(2);
    // The evicted one is verified again (and still valid).
    expect(await tokens.verify(t[0]!.token, T)).toBe('usr_1');
    expect(tokens.size).toBe(2);
  });
});
