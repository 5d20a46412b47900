import { describe, expect, it } from 'vitest';
import { SparklineHistory } from '../../src/server/dock-sparkline.js';

describe('SparklineHistory', () => {
  it('keeps one point per resolution slot, the newest sample winning', () => {
    let now = 10_000;
    const h = new SparklineHistory({ now: () => now, windowMs: 10_000, resolutionMs: 1000 });
    h.record({ bitrate_kbps: 100, rtt_ms: 10 });
    now += 500;
    h.record({ bitrate_kbps: 200, rtt_ms: 20 });
    now += 500;
    h.record({ bitrate_kbps: 300, rtt_ms: null });
    expect(h.snapshot()).toEqual({
      window_ms: 10_000,
      t: [10_500, 11_000],
      bitrate_kbps: [200, 300],
      rtt_ms: [20, null],
    });
  });

  it('drops points older than the window and stays bounded when it wraps around', () => {
    let now = 0;
    const h = new SparklineHistory({ now: () => now, windowMs: 5000, resolutionMs: 1000 });
    for (let i = 0; i < 50; i++) {
      h.record({ bitrate_kbps: i, rtt_ms: i * 2 });
      now += 1000;
    }
    now -= 1000;
    const snap = h.snapshot();
    expect(snap.bitrate_kbps).toEqual([44, 45, 46, 47, 48, 49]);
    expect(snap.t).toEqual([44_000, 45_000, 46_000, 47_000, 48_000, 49_000]);
    now += 3500;
    expect(h.snapshot().bitrate_kbps).toEqual([48, 49]);
  });

  it('turns non-finite values into gaps and can be cleared', () => {
    let now = 0;
    const h = new SparklineHistory({ now: () => now });
    h.record({ bitrate_kbps: Number.NaN, rtt_ms: Number.POSITIVE_INFINITY });
    now = 1000;
    h.record({ bitrate_kbps: 5, rtt_ms: 6 });
    expect(h.snapshot()).toMatchObject({ window_ms: 300_000, bitrate_kbps: [null, 5], rtt_ms: [null, 6] });
    h.clear();
    expect(h.snapshot().t).toEqual([]);
  });

  it('holds 5 minutes at 1 s resolution by default', () => {
    let now = 0;
    const h = new SparklineHistory({ now: () => now });
    for (let i = 0; i < 1000; i++) {
      h.record({ bitrate_kbps: i, rtt_ms: 1 });
      now += 500;
    }
    now -= 500;
    const snap = h.snapshot();
    expect(snap.t.length).toBe(301);
    expect(snap.t[0]).toBeGreaterThanOrEqual(now - 300_000);
    expect(snap.bitrate_kbps.at(-1)).toBe(999);
  });

  it('rejects a non-positive window', () => {
    expect(() => new SparklineHistory({ now: () => 0, windowMs: 0 })).toThrow(/positive/);
  });
});
