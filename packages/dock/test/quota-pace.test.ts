import { describe, expect, it } from 'vitest';
import { quotaPace } from '../src/format.js';

describe('the YouTube quota line of the chat panel', () => {
  // Local clock times, so the expectations hold in any time zone.
  const now = new Date(2026, 10, 22, 16, 0).getTime();
  const resets = new Date(2026, 10, 23, 0, 0).getTime();

  it('says how long the quota lasts at the steady pace, and until when', () => {
    const line = quotaPace(
      {
        poll_interval_ms: 15_158,
        lasts_until_ms: new Date(2026, 10, 22, 23, 58).getTime(),
        resets_at_ms: resets,
      },
      now,
    );
    expect(line).toBe('polls every 15.2 s · quota lasts 7 h 58 min at this pace (until 23:58)');
  });

  it('says when the quota outlasts the daily reset instead of a time', () => {
    const line = quotaPace({ poll_interval_ms: 2000, lasts_until_ms: null, resets_at_ms: resets }, now);
    expect(line).toBe('polls every 2 s · quota lasts until the daily reset (00:00)');
  });
});
