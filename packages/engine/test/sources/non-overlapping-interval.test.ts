import { describe, expect, it } from 'vitest';
import { NonOverlappingInterval } from '../../src/sources/non-overlapping-interval.js';

describe('NonOverlappingInterval', () => {
  it('skips a run while the previous one is still going, and runs again once it ended', async () => {
    let runs = 0;
    let release!: () => void;
    const loop = new NonOverlappingInterval(async () => {
      runs++;
      await new Promise<void>((r) => {
        release = r;
      });
    }, 60_000);
    const first = loop.runOnce();
    await loop.runOnce();
    expect(runs).toBe(1);
    release();
    await first;
    const second = loop.runOnce();
    expect(runs).toBe(2);
    release();
    await second;
  });

  it('a failing step rejects that run and does not block the next', async () => {
    let fail = true;
    let runs = 0;
    const loop = new NonOverlappingInterval(async () => {
      runs++;
      if (fail) throw new Error('boom');
    }, 60_000);
    await expect(loop.runOnce()).rejects.toThrow('boom');
    fail = false;
    await loop.runOnce();
    expect(runs).toBe(2);
  });
});
