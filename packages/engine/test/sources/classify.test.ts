import { Writable } from 'node:stream';
import { createLogger } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import {
  classifyFeed,
  EMPTY_HISTORY,
  type FeedThresholds,
  selectFeed,
  staleAfterMs,
} from '../../src/sources/classify.js';
import { FeedMonitor } from '../../src/sources/feed-monitor.js';
import type { FeedSample } from '../../src/sources/feed-sample.js';

const T: FeedThresholds = {
  low_bitrate_kbps: 800,
  offline_bitrate_kbps: 200,
  low_rtt_ms: 2500,
  offline_rtt_ms: 0,
  offline_after_ms: 500,
  sample_interval_ms: 500,
};
const NOW = 100_000;
const s = (over: Partial<FeedSample> = {}): FeedSample => ({
  source: 'srt',
  at: NOW,
  connected: true,
  bitrate_kbps: 2500,
  rtt_ms: 40,
  loss_pct: 0,
  ...over,
});

describe('classifyFeed', () => {
  it('applies the low and offline bitrate and RTT thresholds', () => {
    const cls = (over: Partial<FeedSample>, t: FeedThresholds = T) =>
      classifyFeed(s(over), t, EMPTY_HISTORY, NOW).health;
    expect(cls({})).toBe('normal');
    expect(cls({ bitrate_kbps: 800 })).toBe('low');
    expect(cls({ bitrate_kbps: 200 })).toBe('offline');
    expect(cls({ rtt_ms: 2500 })).toBe('low');
    expect(cls({ rtt_ms: 9000 })).toBe('low');
    expect(cls({ rtt_ms: 9000 }, { ...T, offline_rtt_ms: 5000 })).toBe('offline');
    expect(cls({ connected: false, reason: 'gone' })).toBe('offline');
    expect(cls({ bitrate_kbps: null, rtt_ms: null })).toBe('normal');
    expect(cls({ bitrate_kbps: 500 }, { ...T, low_bitrate_kbps: 0 })).toBe('normal');
    expect(classifyFeed(null, T, EMPTY_HISTORY, NOW)).toMatchObject({ health: 'unknown' });
  });

  it('stale stats are offline once older than offline_after_ms plus one interval', () => {
    expect(classifyFeed(s({ at: NOW - 1000 }), T, EMPTY_HISTORY, NOW).health).toBe('normal');
    const stale = classifyFeed(s({ at: NOW - 1001 }), T, EMPTY_HISTORY, NOW);
    expect(stale).toMatchObject({
      health: 'offline',
      reason: 'no data from srt for 1.0 s',
      since: NOW - 1001,
    });
  });

  it('a reading the source could not give is unknown, never offline', () => {
    const c = classifyFeed(
      s({ unknown: true, connected: false, reason: 'OBS is not streaming' }),
      T,
      EMPTY_HISTORY,
      NOW,
    );
    expect(c).toMatchObject({ health: 'unknown', reason: 'OBS is not streaming' });
  });

  it("a source faster than the engine's sampling is stale after one of its own periods", () => {
    expect(staleAfterMs(T, null)).toBe(1000);
    expect(staleAfterMs(T, 100)).toBe(600);
    expect(staleAfterMs(T, 5)).toBe(550);
    expect(staleAfterMs(T, 2000)).toBe(1000);
    expect(classifyFeed(s({ at: NOW - 600 }), T, EMPTY_HISTORY, NOW, 100).health).toBe('normal');
    expect(classifyFeed(s({ at: NOW - 601 }), T, EMPTY_HISTORY, NOW, 100).health).toBe('offline');
  });

  it('the monitor learns each source period from its samples', () => {
    const m = new FeedMonitor([{ name: 'srt', priority: 1 }], T, {
      logger: createLogger('t', { destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    });
    expect(m.staleAfterMs('srt')).toBe(1000);
    for (let i = 0; i < 20; i++) m.ingest(s({ at: NOW + i * 100 }));
    expect(m.periodOf('srt')).toBeCloseTo(100, 5);
    expect(m.staleAfterMs('srt')).toBeCloseTo(600, 5);
    // Staleness counts from the engine's looks at the source, not from the wall clock.
    expect(m.observe(NOW + 19 * 100 + 5000).health).toBe('normal');
    m.looked('srt', NOW + 19 * 100 + 550);
    expect(m.observe(NOW + 19 * 100 + 560).health).toBe('normal');
    m.looked('srt', NOW + 19 * 100 + 650);
    expect(m.observe(NOW + 19 * 100 + 660).health).toBe('offline');
  });

  it('connected but 0 kb/s becomes offline once it lasted offline_after_ms (offline threshold disabled)', () => {
    const t = { ...T, offline_bitrate_kbps: 0 };
    const first = classifyFeed(s({ bitrate_kbps: 0, at: NOW }), t, EMPTY_HISTORY, NOW);
    expect(first.health).toBe('low');
    const later = classifyFeed(s({ bitrate_kbps: 0, at: NOW + 500 }), t, first.history, NOW + 500);
    expect(later).toMatchObject({ health: 'offline', reason: expect.stringMatching(/0 kb\/s for 500 ms/) });
    const back = classifyFeed(s({ bitrate_kbps: 3000, at: NOW + 600 }), t, later.history, NOW + 600);
    expect(back).toMatchObject({ health: 'normal', history: { zeroSince: null } });
  });
});

describe('priority list', () => {
  const c = (health: 'normal' | 'low' | 'offline', reason: string = health) => ({
    health,
    reason,
    history: EMPTY_HISTORY,
  });
  it('the first non-offline source by priority wins and is reported', () => {
    const picked = selectFeed([
      {
        name: 'backup',
        priority: 20,
        classification: c('normal'),
        sample: s({ source: 'backup', bitrate_kbps: 1000 }),
      },
      {
        name: 'main',
        priority: 10,
        classification: c('offline', 'stats stale'),
        sample: s({ source: 'main' }),
      },
      { name: 'third', priority: 20, classification: c('low'), sample: null },
    ]);
    expect(picked).toMatchObject({ health: 'normal', source: 'backup', bitrate_kbps: 1000 });
  });

  it('all offline reports the top source reason; none configured is unknown', () => {
    const picked = selectFeed([
      { name: 'b', priority: 2, classification: c('offline', 'HTTP 503'), sample: null },
      { name: 'a', priority: 1, classification: c('offline', 'stats stale'), sample: null },
    ]);
    expect(picked).toMatchObject({
      health: 'offline',
      source: 'a',
      reason: 'stats stale',
      bitrate_kbps: null,
    });
    expect(selectFeed([]).health).toBe('unknown');
  });
});

describe('FeedMonitor', () => {
  it('classifies on demand, logs a missing field once per source, updates feed gauges', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const metrics = new EngineMetrics();
    const m = new FeedMonitor([{ name: 'srt', priority: 1 }], T, {
      logger: createLogger('t', { destination }),
      metrics,
    });
    expect(m.observe(NOW).health).toBe('unknown');
    m.ingest(s({ missing: ['link.rtt'], rtt_ms: null }));
    m.ingest(s({ missing: ['link.rtt'], rtt_ms: null, at: NOW + 500 }));
    expect(m.observe(NOW + 500)).toMatchObject({ health: 'normal', source: 'srt', bitrate_kbps: 2500 });
    m.looked('srt', NOW + 2000);
    expect(m.observe(NOW + 2000)).toMatchObject({ health: 'offline', reason: 'no data from srt for 1.5 s' });
    expect(m.sources()).toEqual([
      expect.objectContaining({
        name: 'srt',
        classification: expect.objectContaining({ health: 'offline' }),
      }),
    ]);
    expect(lines.filter((l) => l.field === 'link.rtt')).toHaveLength(1);
    expect(await metrics.registry.metrics()).toContain('telemy_feed_bitrate_kbps{source="srt"} 2500');
  });

  it('a slow answer or an engine that did not look ages nothing; a stuck poll is unknown', () => {
    const m = new FeedMonitor([{ name: 'srt', priority: 1 }], T, {
      logger: createLogger('t', { level: 'silent' }),
    });
    m.ingest(s({ at: NOW }));
    // Nobody looked for 3 s (the engine was busy): still the last verdict, not "stale".
    expect(m.observe(NOW + 3000).health).toBe('normal');
    // Nobody looked for longer than NOT_LOOKED_AT_MS: the poll itself is stuck.
    expect(m.observe(NOW + 5001)).toMatchObject({
      health: 'unknown',
      reason: expect.stringMatching(/not answered/),
    });
  });
});
