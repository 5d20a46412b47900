import { describe, expect, it } from 'vitest';
import { cpuRatio, gpuRatio, memoryRatio, netRates, parseProcNetDev } from '../../src/system/system-rates.js';

describe('cpuRatio', () => {
  it('is the busy share of the tick delta', () => {
    expect(cpuRatio({ total: 1000, idle: 800 }, { total: 2000, idle: 1550 })).toBeCloseTo(0.25, 9);
  });
  it('has no value on the first reading or when counters reset', () => {
    expect(cpuRatio(undefined, { total: 1000, idle: 10 })).toBeNull();
    expect(cpuRatio({ total: 1000, idle: 10 }, { total: 900, idle: 5 })).toBeNull();
  });
});

describe('netRates', () => {
  it('computes bytes/s from lifetime totals and the real elapsed time', () => {
    const r = netRates(
      { at: 10_000, rxBytes: 5_000, txBytes: 1_000 },
      { at: 10_800, rxBytes: 85_000, txBytes: 41_000 },
    );
    expect(r).toEqual({ rxBytesPerSec: 100_000, txBytesPerSec: 50_000 });
  });
  it('never reports a first sample as 0 B/s', () => {
    expect(netRates(undefined, { at: 1, rxBytes: 1e9, txBytes: 1e9 })).toBeNull();
  });
  it('a counter wrap/reset gives null, not a negative or huge rate', () => {
    expect(
      netRates({ at: 0, rxBytes: 900, txBytes: 900 }, { at: 500, rxBytes: 10, txBytes: 1000 }),
    ).toBeNull();
  });
});

describe('memoryRatio / gpuRatio', () => {
  it('memory in use is total minus available', () => {
    expect(memoryRatio(16, 4)).toBeCloseTo(0.75, 9);
    expect(memoryRatio(0, 0)).toBeNull();
    expect(memoryRatio(8, 9)).toBeNull();
  });
  it('GPU without data is null, not 0', () => {
    expect(gpuRatio(undefined)).toBeNull();
    expect(gpuRatio(null)).toBeNull();
    expect(gpuRatio(-1)).toBeNull();
    expect(gpuRatio(0)).toBe(0);
    expect(gpuRatio(37)).toBeCloseTo(0.37, 9);
  });
});

describe('parseProcNetDev', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 4076627    5921    0    0    0     0          0         0  4076627    5921    0    0    0     0       0          0
  eth0: 428317709   11419    0    0    0     0          0         0   929319    6944    0    0    0     0       0          0
  wlan0: 100   1    0    0    0     0          0         0   200    1    0    0    0     0       0          0
`;
  it('sums non-loopback interfaces', () => {
    expect(parseProcNetDev(text)).toEqual({ rxBytes: 428317809, txBytes: 929519 });
  });
  it('can include loopback', () => {
    expect(parseProcNetDev(text, true)).toEqual({ rxBytes: 428317809 + 4076627, txBytes: 929519 + 4076627 });
  });
  it('unreadable content is null', () => {
    expect(parseProcNetDev('garbage')).toBeNull();
  });
});
