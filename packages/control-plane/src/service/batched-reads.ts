import { RoundTripBatcher } from '../db/round-trip-batcher.js';
import type { Queryable } from '../db/types.js';
import { currentCycle } from '../plans.js';
import { getLiveSessions, type SessionRow } from '../store/sessions.js';
import { type ConsumedQuery, consumedSeconds, summarizeUsage, type UsageSummary } from '../store/usage.js';
import type { UserRow } from '../store/users.js';

/**
 * The reads behind the polled routes (`GET /relay/active`, `GET /usage/current`), batched: all
 * requests waiting while the previous query runs share the next one, and identical reads (same user,
 * same cycle) are asked once. Nothing is cached: every answer comes from a query that started after
 * the request arrived.
 */
export class BatchedReads {
  private readonly live: RoundTripBatcher<string, SessionRow | null>;
  private readonly usage: RoundTripBatcher<UserRow, UsageSummary>;

  constructor(db: Queryable, clock: () => number) {
    this.live = new RoundTripBatcher(async (userIds) => {
      const found = await getLiveSessions(db, [...new Set(userIds)]);
      return userIds.map((id) => found.get(id) ?? null);
    });
    this.usage = new RoundTripBatcher(async (users) => {
      const now = new Date(clock());
      const cycles = users.map((u) => currentCycle(u.cycle_start_at, u.cycle_end_at, now));
      const keyOf = (i: number) =>
        `${users[i]!.id}\u0000${cycles[i]!.start.getTime()}\u0000${cycles[i]!.end.getTime()}`;
      const slot = new Map<string, number>();
      const queries: ConsumedQuery[] = [];
      for (let i = 0; i < users.length; i++) {
        if (slot.has(keyOf(i))) continue;
        slot.set(keyOf(i), queries.length);
        queries.push({ userId: users[i]!.id, cycleStart: cycles[i]!.start, cycleEnd: cycles[i]!.end });
      }
      const consumed = await consumedSeconds(db, queries, now);
      return users.map((u, i) => summarizeUsage(u, cycles[i]!, consumed[slot.get(keyOf(i))!]!));
    });
  }

  /** The user's provisioning/active/grace session, or null. */
  liveSession(userId: string): Promise<SessionRow | null> {
    return this.live.enqueue(userId);
  }

  /** The user's Time Bank in the cycle containing the moment the query starts. */
  usageSummary(user: UserRow): Promise<UsageSummary> {
    return this.usage.enqueue(user);
  }
}
