import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  addInterval,
  EMPTY_SRT_WINDOW,
  SRT_RATE_WINDOW_MS,
  type SrtInterval,
  windowRate,
} from '../../src/sources/srt-rate-window.js';
import { parseSrtLiveTransmitLine } from '../../src/sources/srt-stats-line.js';

/** Real srt-live-transmit output around a 400 ms stop of the process while a 2 Mb/s phone published. */
const stall = readFileSync(new URL('./fixtures/srt-live-transmit-stall.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map(parseSrtLiveTransmitLine);

const interval = (over: Partial<SrtInterval>): SrtInterval => ({
  stream: 1,
  end_ms: 0,
  bytes: 0,
  packets: 0,
  lost: 0,
  ...over,
});

describe('the srt-live-transmit rate window', () => {
  it('reads the burst after a stall as the feed it is, where single lines say 0 kb/s', () => {
    const lineRates = stall.map((o) => (o.kind === 'sample' ? o.bitrate_kbps : null));
    expect(lineRates.filter((r) => r === 0).length).toBeGreaterThanOrEqual(3);
    let w = EMPTY_SRT_WINDOW;
    const rates: number[] = [];
    for (const o of stall) {
      if (o.kind !== 'sample' || !o.srt_interval) throw new Error('a real line has its interval counters');
      w = addInterval(w, o.srt_interval);
      const r = windowRate(w);
      if (r) rates.push(r.bitrate_kbps);
    }
    expect(rates).toHaveLength(stall.length - 1);
    expect(Math.min(...rates)).toBeGreaterThan(1800);
    expect(Math.max(...rates)).toBeLessThan(2800);
  });

  it('covers about the last second of SRT time and no more', () => {
    let w = EMPTY_SRT_WINDOW;
    for (let t = 100; t <= 5000; t += 100)
      w = addInterval(w, interval({ end_ms: t, bytes: t <= 2000 ? 0 : 25_000 }));
    const first = w.lines[0] as SrtInterval;
    expect(5000 - first.end_ms).toBeGreaterThanOrEqual(SRT_RATE_WINDOW_MS);
    expect(5000 - first.end_ms).toBeLessThan(SRT_RATE_WINDOW_MS + 100);
    expect(windowRate(w)?.bitrate_kbps).toBeCloseTo(2000, 6);
  });

  it('starts over on a new connection or a clock that went back, using the line alone', () => {
    let w = addInterval(EMPTY_SRT_WINDOW, interval({ end_ms: 100 }));
    w = addInterval(w, interval({ end_ms: 200, bytes: 25_000 }));
    expect(windowRate(w)?.bitrate_kbps).toBe(2000);
    w = addInterval(w, interval({ stream: 2, end_ms: 300, bytes: 10 }));
    expect(w.lines).toHaveLength(1);
    expect(windowRate(w)).toBeNull();
    w = addInterval(w, interval({ stream: 2, end_ms: 50 }));
    expect(w.lines).toEqual([interval({ stream: 2, end_ms: 50 })]);
  });

  it('takes the loss over the window', () => {
    let w = addInterval(EMPTY_SRT_WINDOW, interval({ end_ms: 0 }));
    w = addInterval(w, interval({ end_ms: 100, packets: 90, lost: 10, bytes: 1 }));
    w = addInterval(w, interval({ end_ms: 200, packets: 100, lost: 0, bytes: 1 }));
    expect(windowRate(w)?.loss_pct).toBeCloseTo(5, 6);
  });
});
