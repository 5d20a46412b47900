import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuthTokenRequest,
  isPgStorableText,
  LONE_SURROGATE_MESSAGE,
  NUL_MESSAGE,
  PG_INT4_MAX,
  PG_INT4_MIN,
  PG_TIMESTAMP_MIN,
  PgInt4,
  PgText,
  PgTimestamp,
  RelayHealthReport,
  RelayStopRequest,
} from '../src/index.js';

const messages = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => i.message);

describe('PgText', () => {
  it('takes any text PostgreSQL stores as sent: ASCII, accents, CJK, emoji (paired surrogates), other controls', () => {
    for (const s of [
      '',
      'phone',
      'Kamera Übertragung',
      '直播',
      '📱 phone 😀',
      '\t\n\u0001\u007f',
      '\uFFFD',
      '\uD83D\uDE00',
    ]) {
      expect(PgText.safeParse(s).success).toBe(true);
      expect(isPgStorableText(s)).toBe(true);
    }
  });

  it('refuses a NUL anywhere', () => {
    for (const s of ['\u0000', 'a\u0000', '\u0000a', 'a\u0000b']) {
      expect(messages(PgText.safeParse(s))).toEqual([NUL_MESSAGE]);
      expect(isPgStorableText(s)).toBe(false);
    }
  });

  it('refuses an unpaired lead or trail surrogate anywhere, and a pair in the wrong order', () => {
    for (const s of [
      '\uD800',
      'a\uD83D',
      '\uD83Db',
      '\uDC00',
      'a\uDE00b',
      '\uDE00\uD83D',
      '\uD83D\uD83D\uDE00\uDE00x',
    ]) {
      expect(messages(PgText.safeParse(s))).toEqual([LONE_SURROGATE_MESSAGE]);
      expect(isPgStorableText(s)).toBe(false);
    }
    expect(messages(PgText.safeParse('\u0000\uD800'))).toEqual([NUL_MESSAGE, LONE_SURROGATE_MESSAGE]);
  });

  it('is exactly "no NUL, and encodes to UTF-8 and back unchanged" (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom('a', '\u0000', '\uD83D', '\uDE00', '\uD83D\uDE00'),
            fc.string({ unit: 'binary' }),
          ),
        }),
        (s) => {
          const roundTrips = Buffer.from(s, 'utf8').toString('utf8') === s;
          expect(PgText.safeParse(s).success).toBe(!s.includes('\u0000') && roundTrips);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps its refinements under length limits chained on it', () => {
    const S = PgText.min(1).max(5);
    expect(S.safeParse('abc').success).toBe(true);
    expect(messages(S.safeParse('a\u0000'))).toEqual([NUL_MESSAGE]);
    expect(S.safeParse('').success).toBe(false);
    expect(S.safeParse('abcdef').success).toBe(false);
  });
});

describe('PgInt4', () => {
  it('takes the integer column range, nothing beyond', () => {
    for (const n of [PG_INT4_MIN, -1, 0, 1, PG_INT4_MAX]) expect(PgInt4.safeParse(n).success).toBe(true);
    expect(messages(PgInt4.safeParse(PG_INT4_MAX + 1))).toEqual([
      `must be at most ${PG_INT4_MAX} (a PostgreSQL integer)`,
    ]);
    expect(messages(PgInt4.safeParse(PG_INT4_MIN - 1))).toEqual([
      `must be at least ${PG_INT4_MIN} (a PostgreSQL integer)`,
    ]);
    for (const n of [2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(PgInt4.safeParse(n).success).toBe(false);
  });
});

describe('PgTimestamp', () => {
  it('takes ISO UTC times from 1970 on, refuses earlier ones (year 0000 and 0001-0099 among them)', () => {
    for (const t of [PG_TIMESTAMP_MIN, '2026-03-10T12:00:00.000Z', '9999-12-31T23:59:59.999Z'])
      expect(PgTimestamp.safeParse(t).success).toBe(true);
    for (const t of [
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '0099-06-01T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
    ])
      expect(messages(PgTimestamp.safeParse(t))).toEqual([`must be ${PG_TIMESTAMP_MIN} or later`]);
    expect(PgTimestamp.safeParse('2026-02-30T00:00:00Z').success).toBe(false);
  });
});

describe('request schemas use them', () => {
  const link = {
    link_id: 'l1',
    label: 'phone',
    source_ip: '203.0.113.45',
    protocol: 'srt',
    status: 'active',
    bitrate_kbps: 4000,
    rtt_ms: 40,
    packet_loss_pct: 0.1,
    jitter_ms: 3,
    connected_at: null,
  };
  const health = {
    session_id: 'ses_1',
    instance_id: 'i-1',
    ingest_active: true,
    egress_active: true,
    session_uptime_seconds: 10,
    observed_at: '2026-03-10T12:00:00.000Z',
    links: [link],
    bonded: { total_bitrate_kbps: 4000, active_link_count: 1, health: 'healthy' },
  };
  const pathOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
    r.success ? null : r.error!.issues[0]!.path.join('.');

  it('each database-bound field of a health report, a stop and a token request', () => {
    expect(RelayHealthReport.safeParse(health).success).toBe(true);
    const bad: [string, object][] = [
      ['session_id', { ...health, session_id: 'ses_\u0000' }],
      ['instance_id', { ...health, instance_id: '\uD800' }],
      ['session_uptime_seconds', { ...health, session_uptime_seconds: PG_INT4_MAX + 1 }],
      ['observed_at', { ...health, observed_at: '0000-01-01T00:00:00Z' }],
      ['links.0.link_id', { ...health, links: [{ ...link, link_id: '\u0000' }] }],
      ['links.0.label', { ...health, links: [{ ...link, label: 'a\uDC00' }] }],
      ['links.0.source_ip', { ...health, links: [{ ...link, source_ip: '\u0000' }] }],
    ];
    for (const [field, body] of bad) expect(pathOf(RelayHealthReport.safeParse(body))).toBe(field);
    expect(pathOf(RelayStopRequest.safeParse({ session_id: 'ses_\u0000', reason: 'shutdown' }))).toBe(
      'session_id',
    );
    expect(pathOf(AuthTokenRequest.safeParse({ api_key: 'tk_\uD800' }))).toBe('api_key');
  });
});
