import { RoundTripBatcher } from '../db/round-trip-batcher.js';
import type { Queryable } from '../db/types.js';
import { windowStartOf } from '../store/rate-limits.js';
import { type CounterLease, counterKey, readUserStates } from '../store/user-states.js';
import { leaseBlock, type RateLimitLeases } from './rate-limit-leases.js';
import type { UserState, UserStateCache } from './user-state-cache.js';

/** A client request whose access token named `userId`, counted in `limit.bucket` when it has one. */
export interface ClientAuthRequest {
  userId: string;
  limit: { bucket: string; max: number } | null;
  nowMs: number;
}

/** The user's state and the request's position in its rate-limit window (null: not counted). */
export interface ClientAuthResult {
  state: UserState;
  position: number | null;
}

/**
 * The user lookup and rate-limit count of every client request. A request whose user is cached
 * (`UserStateCache`) and whose bucket has a leased position left (`RateLimitLeases`) is answered at
 * once. The others wait for ONE statement that serves all requests queued while the previous one ran
 * (`RoundTripBatcher`): it reads their users' state fresh, stores it in the cache, and raises the
 * counters they need by a block. Unknown users get null.
 */
export class ClientAuthenticator {
  private readonly batcher: RoundTripBatcher<ClientAuthRequest, ClientAuthResult | null>;
  private droppedBeforeMs = 0;

  constructor(
    private readonly db: Queryable,
    private readonly cache: UserStateCache,
    private readonly leases: RateLimitLeases,
    /**
     * Told how requests were served: `memory` with a count of requests answered without the
     * database, `database` once per statement with the number of requests it served.
     */
    private readonly observe: (source: 'memory' | 'database', requests: number) => void = () => {},
  ) {
    this.batcher = new RoundTripBatcher((items) => this.flush(items));
  }

  /** The result, synchronously when nothing has to be read, else a promise of it. */
  authenticate(req: ClientAuthRequest): ClientAuthResult | null | Promise<ClientAuthResult | null> {
    const known = this.fromMemory(req);
    if (!known) return this.batcher.enqueue(req);
    this.observe('memory', 1);
    return known;
  }

  private fromMemory(req: ClientAuthRequest): ClientAuthResult | undefined {
    const state = this.cache.get(req.userId);
    if (!state) return undefined;
    if (!req.limit) return { state, position: null };
    const position = this.leases.take(req.limit.bucket, windowStartOf(req.nowMs).getTime(), req.limit.max);
    return position === null ? undefined : { state, position };
  }

  private async flush(items: readonly ClientAuthRequest[]): Promise<Array<ClientAuthResult | null>> {
    const results: Array<ClientAuthResult | null | undefined> = items.map((r) => this.fromMemory(r));
    const pending = results.flatMap((r, i) => (r === undefined ? [i] : []));
    if (pending.length < items.length) this.observe('memory', items.length - pending.length);
    if (pending.length === 0) return results as Array<ClientAuthResult | null>;

    const groups = new Map<string, CounterLease & { max: number; requests: number[]; positions: number[] }>();
    for (const i of pending) {
      const { userId, limit, nowMs } = items[i]!;
      if (!limit) continue;
      const windowStartMs = windowStartOf(nowMs).getTime();
      const key = counterKey(limit.bucket, windowStartMs);
      let g = groups.get(key);
      if (!g) {
        g = {
          userId,
          bucket: limit.bucket,
          windowStartMs,
          amount: 0,
          max: limit.max,
          requests: [],
          positions: [],
        };
        groups.set(key, g);
      }
      g.requests.push(i);
    }
    // Positions still held (a user whose entry was dropped keeps its counts) go to these requests
    // first, in order; only the rest is leased.
    for (const g of groups.values()) {
      while (g.positions.length < g.requests.length) {
        const position = this.leases.take(g.bucket, g.windowStartMs, g.max);
        if (position === null) break;
        g.positions.push(position);
      }
      // What the waiting requests need, and a block more for the requests to come: with only
      // `max(need, block)`, a burst as large as the block used it all up and every request of the
      // next burst waited for the database again.
      const need = g.requests.length - g.positions.length;
      g.amount = need > 0 ? need + leaseBlock(g.max, this.leases.taken(g.bucket, g.windowStartMs)) : 0;
    }
    const userIds = [...new Set(pending.map((i) => items[i]!.userId))];
    const leases = [...groups.values()].filter((g) => g.amount > 0);

    this.observe('database', pending.length);
    const ticket = this.cache.beginRead();
    let read: Awaited<ReturnType<typeof readUserStates>>;
    try {
      read = await readUserStates(this.db, userIds, leases);
      for (const [userId, state] of read.states) this.cache.fill(userId, state, ticket);
    } finally {
      this.cache.endRead(ticket);
    }

    for (const i of pending) {
      const state = read.states.get(items[i]!.userId);
      results[i] = state ? { state, position: null } : null;
    }
    // Oldest window first: a bucket's lease holds one window, and a newer grant replaces an older one.
    const ordered = [...groups.values()].sort((a, b) => a.windowStartMs - b.windowStartMs);
    for (const g of ordered) {
      const total = read.totals.get(counterKey(g.bucket, g.windowStartMs));
      if (total !== undefined) this.leases.grant(g.bucket, g.windowStartMs, g.amount, total);
      for (const i of g.requests) {
        const result = results[i];
        if (!result) continue;
        const position = g.positions.shift() ?? this.leases.take(g.bucket, g.windowStartMs, g.max);
        if (position === null)
          throw new Error(`no rate-limit position for ${g.bucket} after raising its counter`);
        result.position = position;
      }
    }
    this.dropOldLeases(items[0]!.nowMs);
    return results as Array<ClientAuthResult | null>;
  }

  /** Once per window, forget leases of windows before the previous one. */
  private dropOldLeases(nowMs: number): void {
    const previous = windowStartOf(nowMs).getTime() - 60_000;
    if (previous <= this.droppedBeforeMs) return;
    this.droppedBeforeMs = previous;
    this.leases.dropBefore(previous);
  }
}
