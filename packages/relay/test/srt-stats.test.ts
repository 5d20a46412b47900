import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkMeter } from '../src/link-meter.js';
import { LineSplitter, parseSrtStatsLine } from '../src/srt-stats.js';

// A line as srt-live-transmit 1.5.1 prints it with -pf:json (trimmed of fields we ignore).
const LINE =
  '{"sid":271966560,"time":3326,"link":{"rtt":0.037,"bandwidth":12},"recv":{"packets":95,"packetsLost":5,"mbitRate":0.254913,"msBuf":83}}';

describe('parseSrtStatsLine', () => {
  it('reads RTT, loss ratio, receive rate and buffer', () => {
    expect(parseSrtStatsLine(LINE)).toEqual({
      rttMs: 0.037,
      lossRatio: 0.05,
      receiveMbps: 0.254913,
      bufferMs: 83,
    });
  });

  it('returns null for text that is not a stats object', () => {
    for (const l of ['', 'Accepted SRT source connection', '{"sid":', '[1,2]', '{"other":1}', 'null']) {
      expect(parseSrtStatsLine(l)).toBeNull();
    }
  });

  it('leaves missing or non-numeric fields null instead of failing', () => {
    expect(parseSrtStatsLine('{"link":{"rtt":"x"},"recv":{"packets":0,"packetsLost":0}}')).toEqual({
      rttMs: null,
      lossRatio: 0,
      receiveMbps: null,
      bufferMs: null,
    });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseSrtStatsLine(s);
        parseSrtStatsLine(`{${s}`);
      }),
    );
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks', () => {
    const sp = new LineSplitter();
    expect(sp.push('{"a":')).toEqual([]);
    expect(sp.push('1}\r\nnext')).toEqual(['{"a":1}']);
    expect(sp.push(' line\n')).toEqual(['next line']);
  });
});

describe('LinkMeter', () => {
  it('measures bitrate exactly from the bytes of the window', () => {
    const m = new LinkMeter(0);
    for (let t = 0; t < 1000; t += 10) m.packet(1316, t);
    expect(m.sample(1000)).toBeCloseTo((100 * 1316 * 8) / 1000);
    expect(m.sample(2000)).toBe(0);
  });

  it('reports zero jitter for evenly spaced packets and more for uneven ones', () => {
    const even = new LinkMeter(0);
    for (let t = 0; t < 500; t += 10) even.packet(100, t);
    expect(even.jitterMs).toBe(0);
    const uneven = new LinkMeter(0);
    let t = 0;
    for (let i = 0; i < 50; i++) {
      t += i % 2 === 0 ? 2 : 18;
      uneven.packet(100, t);
    }
    expect(uneven.jitterMs as number).toBeGreaterThan(5);
  });
});
