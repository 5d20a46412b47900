import { describe, expect, it } from 'vitest';
import { backoffMs } from '../src/backoff.js';

describe('backoffMs', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };

  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 5, 6, 10, 5000].map((a) => backoffMs(policy, a))).toEqual([
      1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('treats a negative attempt as the first retry', () => {
    expect(backoffMs(policy, -3)).toBe(1000);
  });

  it('with jitter keeps half the delay fixed and randomises the other half', () => {
    expect(backoffMs(policy, 2, () => 0)).toBe(2000);
    expect(backoffMs(policy, 2, () => 0.5)).toBe(3000);
    expect(backoffMs(policy, 2, () => 0.999_999)).toBe(4000);
    expect(backoffMs(policy, 40, () => 0.999_999)).toBe(60_000);
  });
});
