import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@telemy/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { FeedMonitor } from '../../src/sources/feed-monitor.js';
import type { FeedSample } from '../../src/sources/feed-sample.js';
import { SrtStatsFileTail } from '../../src/sources/srt-stats-tail.js';
import { Children, exited, waitFor } from './children.js';

const SRT_PORT = 47020;
const SINK_PORT = 47021;
const dir = mkdtempSync(join(tmpdir(), 'telemy-srt-int-'));
const statsFile = join(dir, 'stats.json');
const children = new Children();
const run = (cmd: string, args: string[]) => children.run(cmd, args);

/** Stats lines that counted no received packet: the tail of a burst after a stall. */
const zeroPacketLines = (text: string) =>
  text.split('\n').filter((l) => /"recv":\{"packets":0,/.test(l)).length;

afterAll(() => children.killAll());

describe('srt-live-transmit stats file, real SRT traffic', () => {
  it('reports a bitrate near the publisher rate, then offline (stale) once the publisher dies', async () => {
    const relay = run('srt-live-transmit', [
      '-pf:json',
      `-statsout:${statsFile}`,
      '-s:20',
      `srt://:${SRT_PORT}?mode=listener`,
      `udp://127.0.0.1:${SINK_PORT}`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    // Constant 2 Mb/s video (plus ~130 kb/s audio and mux overhead) so the expected rate is known.
    const ffmpeg = run('ffmpeg', [
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-b:v',
      '2M',
      '-minrate',
      '2M',
      '-maxrate',
      '2M',
      '-bufsize',
      '1M',
      '-x264-params',
      'nal-hrd=cbr',
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      `srt://127.0.0.1:${SRT_PORT}?mode=caller`,
    ]);
    const samples: FeedSample[] = [];
    const monitor = new FeedMonitor(
      [{ name: 'phone', priority: 1 }],
      {
        low_bitrate_kbps: 800,
        offline_bitrate_kbps: 200,
        low_rtt_ms: 2500,
        offline_rtt_ms: 0,
        offline_after_ms: 500,
        sample_interval_ms: 500,
      },
      { logger: createLogger('srt-int', { level: 'silent' }) },
    );
    const tail = new SrtStatsFileTail({
      source: 'phone',
      file: statsFile,
      intervalMs: 100,
      onSample: (s) => {
        samples.push(s);
        monitor.ingest(s);
      },
      onLooked: (at) => monitor.looked('phone', at),
    });
    tail.start();
    try {
      // Skip the encoder's start-up burst; then average a few seconds of readings.
      await waitFor('steady SRT stats', 20_000, () => samples.filter((s) => s.connected).length >= 12);
      const from = samples.length;
      await new Promise((r) => setTimeout(r, 2500));
      const rates = samples
        .slice(from)
        .flatMap((s) => (s.connected && s.bitrate_kbps !== null ? [s.bitrate_kbps] : []));
      expect(rates.length).toBeGreaterThan(5);
      const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
      expect(mean).toBeGreaterThan(1700);
      expect(mean).toBeLessThan(2800);
      expect(monitor.observe(Date.now())).toMatchObject({ health: 'normal', source: 'phone' });

      // A busy PC: srt-live-transmit descheduled for 300 ms at a time until it has written a burst
      // with 0-packet lines (what it does when it catches up). The feed must still read ~2 Mb/s.
      const relayPid = relay.pid as number;
      const burstFrom = samples.length;
      const zeroLines = () => zeroPacketLines(readFileSync(statsFile, 'utf8'));
      const zerosBefore = zeroLines();
      for (let i = 0; i < 15 && zeroLines() === zerosBefore; i++) {
        process.kill(relayPid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 300));
        process.kill(relayPid, 'SIGCONT');
        await new Promise((r) => setTimeout(r, 700));
      }
      expect(zeroLines()).toBeGreaterThan(zerosBefore);
      const duringStalls = samples
        .slice(burstFrom)
        .flatMap((s) => (s.connected ? [s.bitrate_kbps ?? 0] : []));
      expect(Math.min(...duringStalls)).toBeGreaterThan(1000);

      ffmpeg.kill('SIGKILL');
      await exited(ffmpeg);
      const killedAt = Date.now();
      // srt-live-transmit may write a last line with 0 kb/s when the publisher drops; then the file
      // stops growing and staleness (offline_after_ms + one interval after the last line, as the
      // tail's reads find nothing new) takes over.
      const offline = await waitFor('offline after the publisher died', 5000, () => {
        const f = monitor.observe(Date.now());
        return f.health === 'offline' ? f : undefined;
      });
      expect(offline.reason).toMatch(/no data from phone|0 kb\/s/);
      expect(Date.now() - killedAt).toBeLessThan(2000);
      const stale = await waitFor('stale stats', 5000, () => {
        const f = monitor.observe(Date.now());
        return f.reason?.includes('no data from phone') ? f : undefined;
      });
      expect(stale.health).toBe('offline');
      expect(Date.now() - killedAt).toBeLessThan(2500);
    } finally {
      tail.stop();
    }
  });
});
