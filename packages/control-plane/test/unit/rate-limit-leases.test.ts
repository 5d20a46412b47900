import { describe, expect, it } from 'vitest';
import { leaseBlock, maxLeaseBlock, RateLimitLeases } from '../../src/cache/rate-limit-leases.js';

const W = 1_800_000_000_000;

describe('leaseBlock', () => {
  it('starts at 10 and grows with what was taken, never past a tenth of the limit', () => {
    expect([6, 20, 30, 60, 1_000_000].map((limit) => leaseBlock(limit, 0))).toEqual([0, 2, 3, 6, 10]);
    expect([6, 20, 30, 60, 1_000_000].map((limit) => leaseBlock(limit, 500))).toEqual([0, 2, 3, 6, 500]);
    expect(leaseBlock(1_000_000, 200_000)).toBe(maxLeaseBlock(1_000_000));
    expect(maxLeaseBlock(1_000_000)).toBe(100_000);
  });
});

describe('RateLimitLeases', () => {
  it('holds nothing until a grant, then hands the granted positions out in order, once', () => {
    const l = new RateLimitLeases();
    expect(l.take('b', W, 60)).toBeNull();
    l.grant('b', W, 3, 13);
    expect(l.taken('b', W)).toBe(3);
    expect([l.take('b', W, 60), l.take('b', W, 60), l.take('b', W, 60), l.take('b', W, 60)]).toEqual([
      11,
      12,
      13,
      null,
    ]);
  });

  it('a second grant is used after the first', () => {
    const l = new RateLimitLeases();
    l.grant('b', W, 2, 2);
    l.grant('b', W, 2, 7);
    expect([1, 2, 3, 4].map(() => l.take('b', W, 60))).toEqual([1, 2, 6, 7]);
    // All four handed out (the window is not used up: none held), four taken in W, none in the next.
    expect([l.take('b', W, 60), l.taken('b', W), l.taken('b', W + 60_000)]).toEqual([null, 4, 0]);
  });

  it('once the counter reached the limit, refuses without the database', () => {
    const l = new RateLimitLeases();
    l.grant('b', W, 6, 62);
    const positions = Array.from({ length: 8 }, () => l.take('b', W, 60));
    expect(positions).toEqual([57, 58, 59, 60, 61, 62, 63, 63]);
    expect(positions.filter((p) => p !== null && p <= 60)).toHaveLength(4);
  });

  it('a lease belongs to its window', () => {
    const l = new RateLimitLeases();
    l.grant('b', W, 5, 5);
    expect(l.take('b', W + 60_000, 60)).toBeNull();
    expect(l.taken('b', W + 60_000)).toBe(0);
    l.grant('b', W + 60_000, 5, 5);
    expect(l.take('b', W + 60_000, 60)).toBe(1);
    expect(l.take('b', W, 60)).toBeNull();
  });

  it('forgets leases of ended windows', () => {
    const l = new RateLimitLeases();
    l.grant('old', W, 2, 2);
    l.grant('new', W + 60_000, 1, 1);
    l.dropBefore(W + 60_000);
    expect([l.take('old', W, 60), l.taken('old', W)]).toEqual([null, 0]);
    expect(l.take('new', W + 60_000, 60)).toBe(1);
  });
});
