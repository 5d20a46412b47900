import { describe, expect, it, vi } from 'vitest';
import { ranLate, STALL_LATE_MS, stallTolerantDeadline } from '../src/stall-tolerant.js';

describe('timers that do not blame a peer for our own stall', () => {
  it('a deadline that runs on time expires at once', () => {
    vi.useFakeTimers();
    let t = 0;
    const expired: number[] = [];
    stallTolerantDeadline(
      1000,
      () => expired.push(t),
      () => t,
    );
    t = 1000;
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([1000]);
    vi.useRealTimers();
  });

  it('a deadline that runs late first gives pending I/O a turn, and can still be cleared by it', () => {
    vi.useFakeTimers();
    let t = 0;
    const expired: number[] = [];
    const d = stallTolerantDeadline(
      1000,
      () => expired.push(t),
      () => t,
    );
    // The process was stopped: the timer runs 3 s after it was due.
    t = 4000;
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
    // The answer read in that turn clears the deadline: nobody is blamed.
    d.clear();
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
    vi.useRealTimers();
  });

  it('a late deadline that nothing clears still expires', () => {
    vi.useFakeTimers();
    let t = 0;
    const expired: number[] = [];
    stallTolerantDeadline(
      1000,
      () => expired.push(t),
      () => t,
    );
    t = 4000;
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(50);
    expect(expired).toHaveLength(1);
    vi.useRealTimers();
  });

  it('a periodic check knows when it ran late', () => {
    expect(ranLate(null, 1000, 500)).toBe(false);
    expect(ranLate(1000, 1500 + STALL_LATE_MS, 500)).toBe(false);
    expect(ranLate(1000, 1501 + STALL_LATE_MS, 500)).toBe(true);
  });
});
