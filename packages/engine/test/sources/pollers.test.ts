import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedSample } from '../../src/sources/feed-sample.js';
import { HttpStatsPoller } from '../../src/sources/http-poller.js';
import { parsePublisherStats } from '../../src/sources/publisher-stats.js';
import { SrtStatsFileTail } from '../../src/sources/srt-stats-tail.js';
import { parseMediamtxPaths } from '../../src/sources/types/mediamtx.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('HttpStatsPoller', () => {
  let server: Server;
  let base = '';
  let mtxBytes = 1_000_000;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/sls') return res.end(fixture('sls-stats.json'));
      if (req.url === '/busy') {
        res.statusCode = 503;
        return res.end('Service Unavailable');
      }
      if (req.url === '/slow') return setTimeout(() => res.end('{}'), 2000);
      if (req.url === '/mtx') {
        const doc = JSON.parse(fixture('mediamtx-paths.json'));
        doc.items[0].bytesReceived = mtxBytes;
        return res.end(JSON.stringify(doc));
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  async function pollOnce(path: string, timeoutMs = 3000) {
    const got: FeedSample[] = [];
    const p = new HttpStatsPoller({
      source: 'x',
      url: `${base}${path}`,
      intervalMs: 500,
      timeoutMs,
      parse: (b) => parsePublisherStats(b, 'sls'),
      onSample: (s) => got.push(s),
    });
    await p.poll();
    return { got, p };
  }

  it('parses a 200 answer into a sample', async () => {
    const { got } = await pollOnce('/sls');
    expect(got).toEqual([
      expect.objectContaining({ source: 'x', connected: true, bitrate_kbps: 4937, rtt_ms: 38.4 }),
    ]);
  });

  it('HTTP 503, a timeout and a refused connection are offline with the reason', async () => {
    expect((await pollOnce('/busy')).got[0]).toMatchObject({
      connected: false,
      reason: 'stats endpoint answered HTTP 503',
    });
    const started = Date.now();
    expect((await pollOnce('/slow', 200)).got[0]).toMatchObject({
      connected: false,
      reason: 'stats endpoint timed out after 200 ms',
    });
    expect(Date.now() - started).toBeLessThan(1500);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const got: FeedSample[] = [];
    await new HttpStatsPoller({
      source: 'x',
      url: `http://127.0.0.1:${port}/stats`,
      intervalMs: 500,
      parse: (b) => parsePublisherStats(b, 'sls'),
      onSample: (s) => got.push(s),
    }).poll();
    expect(got[0]).toMatchObject({ connected: false, reason: 'stats endpoint unreachable (ECONNREFUSED)' });
  });

  it('derives a bitrate from the MediaMTX byte counter between polls', async () => {
    let t = 10_000;
    const got: FeedSample[] = [];
    const p = new HttpStatsPoller({
      source: 'mtx',
      url: `${base}/mtx`,
      intervalMs: 500,
      parse: (b) => parseMediamtxPaths(b, 'live/feed1'),
      onSample: (s) => got.push(s),
      now: () => t,
    });
    await p.poll();
    expect(got[0]?.bitrate_kbps).toBeNull();
    mtxBytes += 312_500; // 2.5 Mbit in one second
    t += 1000;
    await p.poll();
    expect(got[1]?.bitrate_kbps).toBeCloseTo(2500, 6);
  });
});

describe('SrtStatsFileTail', () => {
  const line = fixture('srt-live-transmit.jsonl').trim().split('\n')[0] ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'telemy-srt-tail-'));

  it('reports the newest complete line appended since the last poll', async () => {
    const file = join(dir, 'a.json');
    const got: FeedSample[] = [];
    const tail = new SrtStatsFileTail({ source: 'srt', file, intervalMs: 100, onSample: (s) => got.push(s) });
    await tail.poll();
    expect(got[0]).toMatchObject({ connected: false, reason: 'stats file not found' });
    writeFileSync(file, `${line}\n`);
    await tail.poll();
    expect(got[1]).toMatchObject({ connected: true, bitrate_kbps: JSON.parse(line).recv.mbitRate * 1000 });
    await tail.poll();
    expect(got).toHaveLength(2);
    const raw = JSON.parse(line);
    raw.recv.mbitRate = 3.5;
    const next = JSON.stringify(raw);
    appendFileSync(file, next.slice(0, 50));
    await tail.poll();
    expect(got).toHaveLength(2);
    appendFileSync(file, `${next.slice(50)}\n`);
    await tail.poll();
    expect(got[2]?.bitrate_kbps).toBe(3500);
  });

  it('reports the rate of the last second, not of a read that caught only the 0-packet end of a burst', async () => {
    const file = join(dir, 'stall.json');
    const lines = fixture('srt-live-transmit-stall.jsonl').trim().split('\n');
    const firstZero = lines.findIndex((l) => JSON.parse(l).recv.packets === 0);
    const got: FeedSample[] = [];
    const tail = new SrtStatsFileTail({ source: 'srt', file, intervalMs: 100, onSample: (s) => got.push(s) });
    writeFileSync(file, `${lines.slice(0, firstZero).join('\n')}\n`);
    await tail.poll();
    appendFileSync(file, `${lines[firstZero]}\n`);
    await tail.poll();
    expect(got.map((s) => s.bitrate_kbps ?? 0).every((kbps) => kbps > 1800)).toBe(true);
    expect(got).toHaveLength(2);
  });

  it('starts over when the file is truncated, and reports garbage as offline', async () => {
    const file = join(dir, 'b.json');
    const got: FeedSample[] = [];
    const tail = new SrtStatsFileTail({ source: 'srt', file, intervalMs: 100, onSample: (s) => got.push(s) });
    writeFileSync(file, `${line}\n${line}\n${line}\n`);
    await tail.poll();
    writeFileSync(file, 'garbage\n');
    await tail.poll();
    expect(got.at(-1)).toMatchObject({ connected: false, reason: expect.stringMatching(/not JSON/) });
  });
});
