import { SESSION_STATUSES } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { hs256Config, signAccessToken, verifyAccessToken } from '../../src/auth/jwt.js';
import { parseRateLimits } from '../../src/config.js';
import { ApiError } from '../../src/errors.js';
import { base32, newPassphrase, newRelayCredential, randomToken } from '../../src/ids.js';
import { addMonthsUtc, currentCycle, PLANS } from '../../src/plans.js';
import { requestHash } from '../../src/service/relay-service.js';
import { assertTransition, canTransition } from '../../src/service/transitions.js';
import { ingestSrtUrl, maskIp, obsSourceUrl } from '../../src/service/urls.js';

describe('session transitions', () => {
  const legal = new Set([
    'provisioning>active',
    'active>grace',
    'grace>active',
    'active>stopped',
    'grace>stopped',
    'provisioning>stopped',
  ]);
  for (const from of SESSION_STATUSES) {
    for (const to of SESSION_STATUSES) {
      const ok = legal.has(`${from}>${to}`);
      it(`${from} → ${to} is ${ok ? 'legal' : '409 invalid_transition'}`, () => {
        expect(canTransition(from, to)).toBe(ok);
        if (ok) expect(() => assertTransition(from, to)).not.toThrow();
        else {
          try {
            assertTransition(from, to);
            expect.unreachable();
          } catch (err) {
            expect(err).toBeInstanceOf(ApiError);
            expect((err as ApiError).status).toBe(409);
            expect((err as ApiError).code).toBe('invalid_transition');
          }
        }
      });
    }
  }
});

describe('tokens', () => {
  it('base32 follows RFC 4648', () => {
    expect(base32(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32(Buffer.from('f'))).toBe('MY');
  });
  it('pair tokens are valid SRT passphrases (16+ base32 chars, 10-79 long)', () => {
    for (let i = 0; i < 50; i++) {
      const p = newPassphrase();
      expect(p).toMatch(/^[A-Z2-7]{24}$/);
    }
    expect(new Set(Array.from({ length: 100 }, () => randomToken(24))).size).toBe(100);
    expect(newRelayCredential()).toMatch(/^rly_[A-Z2-7]{40}$/);
  });
});

describe('plans and cycles', () => {
  it('starter includes 54,000 s without overage', () => {
    expect(PLANS.starter).toEqual({ tier: 'starter', includedSeconds: 54_000, overageAllowed: false });
    expect(PLANS.standard.includedSeconds).toBeGreaterThan(PLANS.starter.includedSeconds);
    expect(PLANS.pro.includedSeconds).toBeGreaterThan(PLANS.standard.includedSeconds);
  });
  it('months clamp to the last day and cycles roll forward', () => {
    expect(addMonthsUtc(new Date('2026-01-31T10:00:00Z'), 1).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    const start = new Date('2026-01-15T00:00:00Z');
    const end = addMonthsUtc(start, 1);
    expect(currentCycle(start, end, new Date('2026-01-20T00:00:00Z')).start).toEqual(start);
    const later = currentCycle(start, end, new Date('2026-04-15T00:00:00Z'));
    expect(later.start.toISOString()).toBe('2026-04-15T00:00:00.000Z');
    expect(later.end.toISOString()).toBe('2026-05-15T00:00:00.000Z');
  });
});

describe('URLs and masking', () => {
  it('builds ready-to-paste SRT URLs (libsrt ms latency for the phone, ffmpeg µs for OBS)', () => {
    expect(ingestSrtUrl('203.0.113.9', 9000, 'ABCDEFGHIJKLMNOP')).toBe(
      'srt://203.0.113.9:9000?mode=caller&passphrase=ABCDEFGHIJKLMNOP&latency=2000',
    );
    expect(obsSourceUrl('2001:db8::1', 9001, 'QRSTUVWXYZ234567')).toBe(
      'srt://[2001:db8::1]:9001?mode=caller&passphrase=QRSTUVWXYZ234567&latency=2000000',
    );
  });
  it('masks source addresses', () => {
    expect(maskIp('198.51.100.77')).toBe('198.51.100.x');
    expect(maskIp('2001:db8:aa:bb::1')).toBe('2001:db8:aa::x');
    expect(maskIp(null)).toBeNull();
    expect(maskIp('garbage')).toBe('x');
  });
});

describe('idempotency request hash', () => {
  it('ignores key order and notices any value change', () => {
    const a = { region_preference: 'auto', client_context: { mode: 'irl', obs_connected: true } };
    const b = { client_context: { obs_connected: true, mode: 'irl' }, region_preference: 'auto' };
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash({ ...a, region_preference: 'eu-west-1' })).not.toBe(requestHash(a));
  });
});

describe('configuration', () => {
  it('parses TELEMY_CP_RATE_LIMITS and rejects nonsense', () => {
    expect(parseRateLimits(undefined)).toEqual({ start: 6, stop: 20, active: 60, usage: 30, authToken: 10 });
    expect(parseRateLimits('start=12, auth_token=3')).toMatchObject({ start: 12, authToken: 3, stop: 20 });
    expect(() => parseRateLimits('start=0')).toThrow(/TELEMY_CP_RATE_LIMITS/);
    expect(() => parseRateLimits('nope=3')).toThrow(/TELEMY_CP_RATE_LIMITS/);
  });
  it('refuses short HS256 secrets', () => {
    expect(() => hs256Config('short')).toThrow(/32 characters/);
  });
  it('signs and verifies with a controlled clock', async () => {
    const cfg = hs256Config('k'.repeat(32));
    const t = Date.parse('2026-01-01T00:00:00Z');
    const { token, expiresAt } = await signAccessToken(cfg, 'usr_a', t, 60);
    expect(expiresAt.getTime()).toBe(t + 60_000);
    expect(await verifyAccessToken(cfg, token, t + 30_000)).toBe('usr_a');
    expect(await verifyAccessToken(cfg, token, t + 61_000)).toBeNull();
    expect(await verifyAccessToken({ ...cfg, audience: 'other' }, token, t)).toBeNull();
  });
});
