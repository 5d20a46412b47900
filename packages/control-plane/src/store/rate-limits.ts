import type { Queryable } from '../db/types.js';

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

const WINDOW_MS = 60_000;

/**
 * Counts one request in the bucket's current one-minute window. The counter lives in the database
 * (one upsert), so every replica sharing the database enforces the same limit.
 */
export async function hitRateLimit(
  db: Queryable,
  bucket: string,
  limit: number,
  nowMs: number,
): Promise<RateLimitDecision> {
  const res = await db.query<{ count: number }>(
    `INSERT INTO rate_limit_counters (bucket, window_start, count) VALUES ($1, $2, 1)
     ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
     RETURNING count`,
    [bucket, windowStartOf(nowMs)],
  );
  return rateLimitDecision(res.rows[0]?.count ?? 1, limit, nowMs);
}

export const windowStartOf = (nowMs: number): Date => new Date(Math.floor(nowMs / WINDOW_MS) * WINDOW_MS);

/** The verdict for the `count`-th request of the current window. */
export function rateLimitDecision(count: number, limit: number, nowMs: number): RateLimitDecision {
  const windowStart = windowStartOf(nowMs).getTime();
  return {
    allowed: count <= limit,
    limit,
    remaining: Math.max(0, limit - count),
    resetSeconds: Math.max(1, Math.ceil((windowStart + WINDOW_MS - nowMs) / 1000)),
  };
}

export async function deleteOldRateLimitWindows(db: Queryable, before: Date): Promise<number> {
  return (await db.query('DELETE FROM rate_limit_counters WHERE window_start < $1', [before])).rowCount;
}
