import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  counterIncrement,
  encodingLagMs,
  type OutputCounters,
  outputRates,
  windowedBitrateKbps,
} from '../../src/obs/output-rates.js';

const sample = (p: Partial<OutputCounters>): OutputCounters => ({
  at: 0,
  active: true,
  bytes: 0,
  totalFrames: 0,
  skippedFrames: 0,
  ...p,
});

describe('outputRates', () => {
  it('divides the byte delta by the real elapsed time, not the nominal interval', () => {
    const prev = sample({ at: 1_000, bytes: 1_000_000, totalFrames: 300 });
    // 500 ms nominal, but the reply arrived after 625 ms: 250 000 bytes → 3200 kb/s.
    const cur = sample({ at: 1_625, bytes: 1_250_000, totalFrames: 318, skippedFrames: 0 });
    const r = outputRates(prev, cur);
    expect(r.bitrateKbps).toBeCloseTo(3200, 6);
    expect(r.fps).toBeCloseTo(28.8, 6);
    expect(r.dropRatio).toBe(0);
  });

  it('is instantaneous: a collapsing stream shows its current rate, not the lifetime average', () => {
    // 10 minutes at 6000 kb/s, then 500 ms with only 1 KiB sent.
    const prev = sample({ at: 600_000, bytes: 450_000_000 });
    const cur = sample({ at: 600_500, bytes: 450_001_024 });
    expect(outputRates(prev, cur).bitrateKbps).toBeCloseTo(16.384, 6);
  });

  it('reports drop ratio from frame deltas', () => {
    const prev = sample({ at: 0, totalFrames: 100, skippedFrames: 10 });
    const cur = sample({ at: 1000, totalFrames: 130, skippedFrames: 16 });
    expect(outputRates(prev, cur).dropRatio).toBeCloseTo(0.2, 9);
  });

  it('an inactive output has bitrate 0 and fps 0', () => {
    const r = outputRates(sample({ at: 0, bytes: 5000 }), sample({ at: 500, bytes: 5000, active: false }));
    expect(r).toEqual({ bitrateKbps: 0, fps: 0, dropRatio: null });
  });

  it('without two samples of the same run the rate is unknown (null), never 0', () => {
    expect(outputRates(undefined, sample({ at: 500, bytes: 9_999 })).bitrateKbps).toBeNull();
    const stopped = sample({ at: 0, active: false, bytes: 1_000_000 });
    expect(outputRates(stopped, sample({ at: 500, bytes: 50_000 })).bitrateKbps).toBeNull();
  });

  it('counters that went backwards (output restarted) or a non-advancing clock give null', () => {
    expect(
      outputRates(sample({ at: 0, bytes: 900 }), sample({ at: 500, bytes: 100 })).bitrateKbps,
    ).toBeNull();
    expect(
      outputRates(sample({ at: 500, bytes: 0 }), sample({ at: 500, bytes: 100 })).bitrateKbps,
    ).toBeNull();
  });

  it('averaging instantaneous rates weighted by time reproduces the total bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 0, max: 2_000_000 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          let prev = sample({ at: 0, bytes: 0 });
          let bits = 0;
          for (const [dt, db] of steps) {
            const cur = sample({ at: prev.at + dt, bytes: prev.bytes + db });
            bits += (outputRates(prev, cur).bitrateKbps ?? Number.NaN) * dt;
            prev = cur;
          }
          expect(bits).toBeCloseTo(prev.bytes * 8, 0);
        },
      ),
    );
  });
});

describe('counterIncrement', () => {
  it('first reading counts in full, later readings count the delta', () => {
    expect(counterIncrement(undefined, 42)).toBe(42);
    expect(counterIncrement(42, 50)).toBe(8);
  });
  it('a smaller reading means OBS restarted: the new total is all new', () => {
    expect(counterIncrement(1_000, 12)).toBe(12);
  });
  it('ignores garbage', () => {
    expect(counterIncrement(5, Number.NaN)).toBe(0);
    expect(counterIncrement(5, -1)).toBe(0);
  });
});

describe('encodingLagMs', () => {
  const at = (ms: number, skippedFrames: number) => ({ at: ms, skippedFrames });

  it('an interval without skipped frames has no lag', () => {
    expect(encodingLagMs(at(1_000, 120), at(1_500, 120), 30)).toBe(0);
  });

  it('a burst of skipped frames: ms of video lost per second of wall time', () => {
    // 6 frames at 60 fps = 100 ms of video in 500 ms → 200 ms per second.
    expect(encodingLagMs(at(1_000, 40), at(1_500, 46), 60)).toBeCloseTo(200, 9);
    // 3 frames at 30 fps = 100 ms of video, but the reply came 625 ms after the last → 160 ms/s.
    expect(encodingLagMs(at(1_000, 40), at(1_625, 43), 30)).toBeCloseTo(160, 9);
    // Every frame of the second skipped: the encoders delivered nothing.
    expect(encodingLagMs(at(0, 0), at(1_000, 30), 30)).toBeCloseTo(1000, 9);
  });

  it('a counter that went backwards (OBS restarted or reset its video) counts its new total, never negative', () => {
    expect(encodingLagMs(at(0, 5_000), at(1_000, 12), 30)).toBeCloseTo(400, 9);
    expect(encodingLagMs(at(0, 5_000), at(1_000, 0), 30)).toBe(0);
  });

  it('is unknown (null) without a previous reading, a frame rate or an advancing clock', () => {
    expect(encodingLagMs(undefined, at(500, 10), 30)).toBeNull();
    expect(encodingLagMs(at(0, 0), at(500, 10), null)).toBeNull();
    expect(encodingLagMs(at(0, 0), at(500, 10), 0)).toBeNull();
    expect(encodingLagMs(at(500, 0), at(500, 10), 30)).toBeNull();
  });

  it('is never negative for any pair of readings (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 5_000 }),
        fc.double({ min: 1, max: 240, noNaN: true }),
        (prev, cur, dt, fps) => {
          expect(encodingLagMs(at(0, prev), at(dt, cur), fps)).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe('windowedBitrateKbps (what the obs_output feed is judged on)', () => {
  const run = (points: Array<[number, number]>) => points.map(([at, bytes]) => sample({ at, bytes }));

  it('measures over the last window, so one late reading does not make a dip', () => {
    // 2500 kb/s steady; the reading asked at 2000 ms came back late and counted fewer bytes.
    const h = run([
      [0, 0],
      [500, 156_250],
      [1000, 312_500],
      [1500, 468_750],
      [2000, 520_000],
      [2500, 781_250],
    ]);
    expect(outputRates(h[3], h[4] as OutputCounters).bitrateKbps).toBeCloseTo(820, 0);
    expect(windowedBitrateKbps(h.slice(0, 5), 2000, 900)).toBeCloseTo(2080, 0);
    expect(windowedBitrateKbps(h, 2000, 900)).toBeCloseTo(2500, 0);
  });

  it('says nothing until the readings span long enough, or after the output stopped', () => {
    expect(
      windowedBitrateKbps(
        run([
          [0, 0],
          [500, 156_250],
        ]),
        2000,
        900,
      ),
    ).toBeNull();
    expect(windowedBitrateKbps([sample({ at: 2000, active: false })], 2000, 900)).toBeNull();
  });
});
