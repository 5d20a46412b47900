import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../../src/config/index.js';
import type { FeedSample } from '../../../src/sources/feed-sample.js';
import { SOURCE_MODULES } from '../../../src/sources/registry.js';
import type { SourceContext } from '../../../src/sources/source-module.js';
import { nimbleSignedUrl, parseNimbleStatus } from '../../../src/sources/types/nimble.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const rtmp = fixture('nimble-rtmp-status.json');
const srt = fixture('nimble-srt-receiver-stats.json');

describe('Nimble Streamer native API parser', () => {
  it('rtmp_status: the application and stream picked, bandwidth (bits/s, a string) as the bitrate', () => {
    expect(parseNimbleStatus(rtmp, 'live', 'backup')).toEqual({
      kind: 'sample',
      connected: true,
      bitrate_kbps: 1015.088,
      rtt_ms: null,
      loss_pct: null,
      missing: [],
    });
    expect(parseNimbleStatus(rtmp, 'irl')).toMatchObject({ bitrate_kbps: 2500 });
    expect(parseNimbleStatus(rtmp)).toMatchObject({ bitrate_kbps: 3145.728 });
    expect(parseNimbleStatus(rtmp, 'live', 'cam')).toEqual({
      kind: 'offline',
      reason: 'nimble: RTMP live/cam not published',
    });
    expect(parseNimbleStatus('[]')).toEqual({
      kind: 'offline',
      reason: 'nimble: RTMP any stream not published',
    });
  });

  it('rtmp_status without bandwidth: connected, the bitrate absent and named', () => {
    const out = parseNimbleStatus('[{"app":"live","streams":[{"strm":"phone"}]}]');
    expect(out).toMatchObject({
      kind: 'sample',
      connected: true,
      bitrate_kbps: null,
      missing: ['bandwidth'],
    });
  });

  it('srt_receiver_stats: the receiver picked by id, mbitRate and rtt; a listener without a sender is offline', () => {
    expect(parseNimbleStatus(srt, undefined, '0.0.0.0:2020')).toEqual({
      kind: 'sample',
      connected: true,
      bitrate_kbps: 5510,
      rtt_ms: 48.2,
      loss_pct: null,
      missing: [],
    });
    expect(parseNimbleStatus(srt, undefined, '0.0.0.0:2021')).toEqual({
      kind: 'offline',
      reason: 'nimble: SRT receiver 0.0.0.0:2021 listening',
    });
    expect(parseNimbleStatus(srt, undefined, '0.0.0.0:9')).toMatchObject({ kind: 'offline' });
    expect(parseNimbleStatus('{"SrtReceivers":[{"id":"a","stats":{"recv":{}}}]}')).toMatchObject({
      kind: 'sample',
      bitrate_kbps: null,
      rtt_ms: null,
      missing: ['recv.mbitRate', 'link.rtt'],
    });
  });

  it('anything else is offline with what it was', () => {
    expect(parseNimbleStatus('<html>')).toEqual({
      kind: 'offline',
      reason: 'nimble status: not JSON (<html>)',
    });
    expect(parseNimbleStatus('{"Connections":3}')).toEqual({
      kind: 'offline',
      reason: 'nimble: no SrtReceivers array',
    });
  });

  it('signs a request as nimble.conf management_token wants: hash = base64(md5("<salt>/<token>"))', () => {
    const u = new URL(nimbleSignedUrl('http://127.0.0.1:8082/manage/rtmp_status', 'tok', 12345));
    expect(u.searchParams.get('salt')).toBe('12345');
    // md5("12345/tok"), base64
    expect(u.searchParams.get('hash')).toBe(createHash('md5').update('12345/tok').digest('base64'));
    expect(u.pathname).toBe('/manage/rtmp_status');
  });
});

/** A stand-in for Nimble's management port: its two status paths, checking salt and hash like Nimble. */
const TOKEN = 'management-token';
let server: Server;
let base = '';
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    asked.push(u.pathname + u.search);
    const salt = u.searchParams.get('salt') ?? '';
    const hash = createHash('md5').update(`${salt}/${TOKEN}`).digest('base64');
    if (u.searchParams.get('hash') !== hash) {
      res.writeHead(403).end();
      return;
    }
    const body = { '/manage/rtmp_status': rtmp, '/manage/srt_receiver_stats': srt }[u.pathname];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** One poll of a `nimble` source, run the way the engine runs it, with a vault of `secrets`. */
async function pollOnce(config: Partial<SourceConfig>, secrets: Record<string, string>): Promise<FeedSample> {
  const samples: FeedSample[] = [];
  const ctx = {
    config: { name: 'nimble', type: 'nimble', priority: 1, enabled: true, ...config },
    intervalMs: 1000,
    now: Date.now,
    ingest: (s: FeedSample) => samples.push(s),
    secret: (key: string) => secrets[key] ?? null,
  } as unknown as SourceContext;
  const runner = SOURCE_MODULES.nimble.runner(ctx);
  runner.start();
  for (let i = 0; i < 100 && samples.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  runner.stop();
  if (!samples[0]) throw new Error('no sample');
  return samples[0];
}

describe('nimble source against a stub of the management API', () => {
  it('polls rtmp_status and srt_receiver_stats signed with the token from the vault', async () => {
    const secrets = { nimble_token: TOKEN };
    expect(
      await pollOnce(
        {
          url: `${base}/manage/rtmp_status`,
          publisher: 'live',
          stream: 'phone',
          password_key: 'nimble_token',
        },
        secrets,
      ),
    ).toMatchObject({ source: 'nimble', connected: true, bitrate_kbps: 3145.728 });
    expect(
      await pollOnce(
        { url: `${base}/manage/srt_receiver_stats`, stream: '0.0.0.0:2020', password_key: 'nimble_token' },
        secrets,
      ),
    ).toMatchObject({ connected: true, bitrate_kbps: 5510, rtt_ms: 48.2 });
    // A fresh salt every request.
    const salts = asked.map((a) => new URLSearchParams(a.split('?')[1]).get('salt'));
    expect(new Set(salts).size).toBe(salts.length);
  });

  it('a wrong or missing token: offline with the reason', async () => {
    const url = `${base}/manage/rtmp_status`;
    expect(await pollOnce({ url, password_key: 'nimble_token' }, { nimble_token: 'wrong' })).toMatchObject({
      connected: false,
      reason: 'stats endpoint answered HTTP 403',
    });
    expect(await pollOnce({ url, password_key: 'nimble_token' }, {})).toMatchObject({
      connected: false,
      reason: 'nimble: vault entry nimble_token is not set',
    });
    expect(await pollOnce({ url }, {})).toMatchObject({ reason: 'stats endpoint answered HTTP 403' });
  });
});
