import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ranLate, STALL_LATE_MS, stallTolerantDeadline } from '../src/stall-tolerant.js';

/** A 1 s deadline on a clock the test moves by hand; `expired` holds the clock when it fired. */
function oneSecondDeadline() {
  const clock = { t: 0 };
  const expired: number[] = [];
  const deadline = stallTolerantDeadline(
    1000,
    () => expired.push(clock.t),
    () => clock.t,
  );
  return { clock, expired, deadline };
}

describe('timers that do not blame a peer for our own stall', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a deadline that runs on time expires at once', () => {
    const { clock, expired } = oneSecondDeadline();
    clock.t = 1000;
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([1000]);
  });

  it('a deadline that runs late first gives pending I/O a turn, and can still be cleared by it', () => {
    const { clock, expired, deadline } = oneSecondDeadline();
    // The process was stopped: the timer runs 3 s after it was due.
    clock.t = 4000;
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
    // The answer read in that turn clears the deadline: nobody is blamed.
    deadline.clear();
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
  });

  it('a late deadline that nothing clears still expires', () => {
    const { clock, expired } = oneSecondDeadline();
    clock.t = 4000;
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(50);
    expect(expired).toHaveLength(1);
  });

  it('a periodic check knows when it ran late', () => {
    expect(ranLate(null, 1000, 500)).toBe(false);
    expect(ranLate(1000, 1500 + STALL_LATE_MS, 500)).toBe(false);
    expect(ranLate(1000, 1501 + STALL_LATE_MS, 500)).toBe(true);
  });
});
