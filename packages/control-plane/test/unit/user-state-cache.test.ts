import { describe, expect, it } from 'vitest';
import {
  DEFAULT_USER_STATE_MAX_AGE_MS,
  type UserState,
  UserStateCache,
} from '../../src/cache/user-state-cache.js';

const state = (id: string, email = `${id}@example.com`): UserState =>
  ({
    user: { id, email },
    live: null,
    consumed: { settledSeconds: 0, runningSinceMs: [] },
  }) as unknown as UserState;

function enabled(maxEntries?: number, clock: () => number = () => 0) {
  const cache = new UserStateCache(clock, maxEntries);
  cache.enable();
  return cache;
}

describe('UserStateCache', () => {
  it('stores what a read returned and gives it back', () => {
    const cache = enabled();
    const t = cache.beginRead();
    expect(cache.fill('u1', state('u1'), t)).toBe(true);
    cache.endRead(t);
    expect(cache.get('u1')?.user.id).toBe('u1');
  });

  it('stores nothing while disabled, and forgets everything when disabled', () => {
    const cache = new UserStateCache();
    const t = cache.beginRead();
    expect(cache.fill('u1', state('u1'), t)).toBe(false);
    cache.endRead(t);
    cache.enable();
    const t2 = cache.beginRead();
    cache.fill('u1', state('u1'), t2);
    cache.endRead(t2);
    cache.disable();
    expect(cache.get('u1')).toBeUndefined();
    expect(cache.isEnabled).toBe(false);
  });

  it('refuses a read that was in flight when its user changed, and only that user', () => {
    const cache = enabled();
    const t = cache.beginRead();
    cache.invalidate('u1');
    expect(cache.fill('u1', state('u1'), t)).toBe(false);
    expect(cache.fill('u2', state('u2'), t)).toBe(true);
    cache.endRead(t);
    // A read begun after the change stores what it read.
    const t2 = cache.beginRead();
    expect(cache.fill('u1', state('u1'), t2)).toBe(true);
    cache.endRead(t2);
  });

  it('refuses every read in flight when the cache is cleared', () => {
    const cache = enabled();
    const t = cache.beginRead();
    cache.clear();
    expect(cache.fill('u9', state('u9'), t)).toBe(false);
    cache.endRead(t);
  });

  it('a change drops the stored entry', () => {
    const cache = enabled();
    const t = cache.beginRead();
    cache.fill('u1', state('u1'), t);
    cache.endRead(t);
    cache.invalidate('u1');
    expect(cache.get('u1')).toBeUndefined();
  });

  it('keeps a change against an older read still open after a newer read ends', () => {
    const cache = enabled();
    const older = cache.beginRead();
    cache.invalidate('u0');
    const newer = cache.beginRead();
    cache.invalidate('u1');
    cache.endRead(newer);
    expect(cache.fill('u1', state('u1'), older)).toBe(false);
    cache.endRead(older);
  });

  it('does not serve an entry older than its maximum age', () => {
    let now = 1_000;
    const cache = enabled(undefined, () => now);
    const t = cache.beginRead();
    cache.fill('u1', state('u1'), t);
    cache.endRead(t);
    now += DEFAULT_USER_STATE_MAX_AGE_MS - 1;
    expect(cache.get('u1')).toBeDefined();
    now += 1;
    expect(cache.get('u1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries users, dropping the least recently stored', () => {
    const cache = enabled(2);
    const t = cache.beginRead();
    cache.fill('a', state('a'), t);
    cache.fill('b', state('b'), t);
    cache.fill('a', state('a', 'new@example.com'), t);
    cache.fill('c', state('c'), t);
    cache.endRead(t);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.user.email).toBe('new@example.com');
  });
});
