import { describe, expect, it } from 'vitest';
import { ClientAuthenticator, type ClientAuthResult } from '../../src/cache/client-authenticator.js';
import { RateLimitLeases } from '../../src/cache/rate-limit-leases.js';
import { UserStateCache } from '../../src/cache/user-state-cache.js';
import type { Queryable, QueryResult } from '../../src/db/types.js';
import { USER_FIELDS, type UserRow } from '../../src/store/users.js';

const NOW = Date.parse('2026-12-02T12:00:30.000Z');
const WINDOW = Date.parse('2026-12-02T12:00:00.000Z');

function user(id: string): UserRow {
  const t = new Date(WINDOW);
  return {
    id,
    email: `${id}@example.com`,
    display_name: null,
    plan_tier: 'starter',
    plan_status: 'active',
    cycle_start_at: t,
    cycle_end_at: t,
    included_seconds: 54_000,
    created_at: t,
  };
}

/**
 * The hot-path statement over in-memory users and counters, in the statement's wire shape (rows as
 * arrays; see `store/user-states.ts`). `hold()` makes the next statements wait for `release()`.
 */
function fakeDb(userIds: string[]) {
  const users = new Map(userIds.map((id) => [id, user(id)]));
  const counters = new Map<string, number>();
  const statements: Array<{ userIds: string[]; buckets: string[]; amounts: number[] }> = [];
  let gate: Promise<void> | null = null;
  let open = () => {};
  const db: Queryable = {
    async query<R>(_sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      const [ids, leaseUsers, buckets, windows, amounts] = params as [
        string[],
        string[],
        string[],
        string[],
        number[],
      ];
      statements.push({ userIds: [...ids], buckets: [...buckets], amounts: [...amounts] });
      const rows: unknown[][] = [];
      for (const id of ids) {
        const u = users.get(id);
        if (!u) continue;
        const json = USER_FIELDS.map(([name, , kind]) =>
          kind === 'time' ? (u[name] as Date).getTime() : u[name],
        );
        rows.push([json, 0, [], null, null, null, null]);
      }
      buckets.forEach((bucket, i) => {
        if (!users.has(leaseUsers[i]!)) return;
        const key = `${bucket}@${windows[i]}`;
        const total = (counters.get(key) ?? 0) + amounts[i]!;
        counters.set(key, total);
        rows.push([null, null, null, null, bucket, Date.parse(windows[i]!), total]);
      });
      // The rows above are the statement's snapshot; held, it answers them later.
      if (gate) await gate;
      return { rows: rows as R[], rowCount: rows.length };
    },
    async exec() {},
  };
  return {
    db,
    users,
    statements,
    hold() {
      gate = new Promise((r) => {
        open = r;
      });
    },
    release() {
      gate = null;
      open();
    },
  };
}

function setup(userIds = ['u1']) {
  const fake = fakeDb(userIds);
  const cache = new UserStateCache();
  cache.enable();
  const auth = new ClientAuthenticator(fake.db, cache, new RateLimitLeases());
  const limited = (userId: string, max = 1_000_000, nowMs = NOW) => ({
    userId,
    limit: { bucket: `active:${userId}`, max },
    nowMs,
  });
  return { ...fake, cache, auth, limited };
}

const positionOf = async (r: ReturnType<ClientAuthenticator['authenticate']>) => (await r)?.position;

describe('ClientAuthenticator', () => {
  it('reads a user once, then answers from memory until the leased counts run out', async () => {
    const { auth, statements, limited } = setup();
    const first = auth.authenticate(limited('u1'));
    expect(first).toBeInstanceOf(Promise);
    expect(await positionOf(first)).toBe(1);
    // The one count it needs and a block of 10 (limit 1 000 000) for the requests to come.
    expect(statements).toEqual([{ userIds: ['u1'], buckets: ['active:u1'], amounts: [11] }]);
    const fromMemory = Array.from({ length: 10 }, () => auth.authenticate(limited('u1')));
    expect(fromMemory.some((r) => r instanceof Promise)).toBe(false);
    expect(fromMemory.map((r) => (r as ClientAuthResult).position)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(await positionOf(auth.authenticate(limited('u1')))).toBe(12);
    // The block grows with what this replica took in the window (11): 1 + 11.
    expect(statements.map((s) => s.amounts)).toEqual([[11], [12]]);
  });

  it('a route without a limit needs only the cached user', async () => {
    const { auth, statements } = setup();
    await auth.authenticate({ userId: 'u1', limit: null, nowMs: NOW });
    const again = auth.authenticate({ userId: 'u1', limit: null, nowMs: NOW });
    expect(again).toEqual(expect.objectContaining({ position: null }));
    expect(statements).toEqual([{ userIds: ['u1'], buckets: [], amounts: [] }]);
  });

  it('an unknown user gets null and raises no counter', async () => {
    const { auth, limited } = setup();
    expect(await auth.authenticate(limited('ghost'))).toBeNull();
  });

  it('requests queued behind a statement share the next one, which leases what they need', async () => {
    const { auth, statements, hold, release, limited } = setup(['u1', 'u2']);
    hold();
    const first = auth.authenticate(limited('u1'));
    await new Promise((r) => setImmediate(r));
    const queued = Array.from({ length: 14 }, (_, i) => auth.authenticate(limited(i % 2 ? 'u2' : 'u1')));
    release();
    const positions = await Promise.all([first, ...queued].map(positionOf));
    // u1 (first, then every other one): 1–8 from the first statement's lease of 1 + 10; u2: 1–7 from
    // a lease of 7 + 10 in the second statement.
    expect(positions).toEqual([1, 2, 1, 3, 2, 4, 3, 5, 4, 6, 5, 7, 6, 8, 7]);
    expect(statements.map((s) => s.amounts)).toEqual([[11], [17]]);
    expect(statements[1]!.buckets).toEqual(['active:u2']);
  });

  it('a user who changed while a read was in flight is read again, not served the older read', async () => {
    const { auth, cache, statements, hold, release, users, limited } = setup();
    hold();
    const inFlight = auth.authenticate(limited('u1'));
    await new Promise((r) => setImmediate(r));
    users.get('u1')!.plan_status = 'canceled';
    cache.invalidate('u1');
    release();
    expect((await inFlight)?.state.user.plan_status).toBe('active');
    const after = await auth.authenticate(limited('u1'));
    expect(after?.state.user.plan_status).toBe('canceled');
    expect(statements).toHaveLength(2);
    // The second read stored it: the next request is answered from memory.
    expect(auth.authenticate(limited('u1'))).not.toBeInstanceOf(Promise);
  });

  it('once the window is used up, refuses from memory; the next window leases again', async () => {
    const { auth, statements, limited } = setup();
    const positions: Array<number | null | undefined> = [];
    for (let i = 0; i < 9; i++) positions.push(await positionOf(auth.authenticate(limited('u1', 6))));
    expect(positions).toEqual([1, 2, 3, 4, 5, 6, 7, 7, 7]);
    // A limit under 10 is counted exactly: one count per statement, none after the limit.
    expect(statements.map((s) => s.amounts)).toEqual([[1], [1], [1], [1], [1], [1]]);
    expect(await positionOf(auth.authenticate(limited('u1', 6, NOW + 60_000)))).toBe(1);
    expect(statements).toHaveLength(7);
  });

  it('with the cache disabled every request reads the database, and leased counts still apply', async () => {
    const { auth, cache, statements, limited } = setup();
    cache.disable();
    for (let i = 0; i < 3; i++) await auth.authenticate(limited('u1'));
    expect(statements.map((s) => s.amounts)).toEqual([[11], [], []]);
  });
});
