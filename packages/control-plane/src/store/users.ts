import type { PlanStatus, PlanTier } from '@telemy/protocol';
import type { Queryable } from '../db/types.js';
import { newApiKey, newId, sha256Hex } from '../ids.js';
import { addMonthsUtc, PLANS } from '../plans.js';

export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  plan_tier: PlanTier;
  plan_status: PlanStatus;
  cycle_start_at: Date;
  cycle_end_at: Date;
  included_seconds: number;
  created_at: Date;
}

export interface NewUser {
  email: string;
  displayName?: string | null;
  plan?: PlanTier;
  planStatus?: PlanStatus;
}

const USER_COLUMNS =
  'id, email, display_name, plan_tier, plan_status, cycle_start_at, cycle_end_at, included_seconds, created_at';

/** A user whose first monthly cycle starts now, with the tier's Time Bank. */
export async function createUser(db: Queryable, u: NewUser, now: Date): Promise<UserRow> {
  const plan = PLANS[u.plan ?? 'starter'];
  const res = await db.query<UserRow>(
    `INSERT INTO users (id, email, display_name, plan_tier, plan_status, cycle_start_at, cycle_end_at,
       included_seconds, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6, $6) RETURNING ${USER_COLUMNS}`,
    [
      newId('usr'),
      u.email.trim().toLowerCase(),
      u.displayName ?? null,
      plan.tier,
      u.planStatus ?? 'active',
      now,
      addMonthsUtc(now, 1),
      plan.includedSeconds,
    ],
  );
  return res.rows[0]!;
}

export async function getUser(db: Queryable, id: string): Promise<UserRow | null> {
  const res = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return res.rows[0] ?? null;
}

/** One client request to authenticate: its user, and the rate-limit bucket it counts in (if any). */
export interface CountedRequest {
  userId: string;
  /** null: the route has no limit, only the user is looked up. */
  bucket: string | null;
  windowStart: Date;
}

/** The user, and the request's place in its bucket's window (null when nothing was counted). */
export interface CountedUser {
  user: UserRow;
  count: number | null;
}

/** The user columns as NULLs, for the counter rows of the batched statement's result. */
const NULL_USER_COLUMNS = USER_COLUMNS.split(',')
  .map(() => 'NULL')
  .join(', ');

const counterKey = (bucket: string, windowStart: Date) => `${bucket}\u0000${windowStart.getTime()}`;

/**
 * The users of many requests, and every request counted in its rate-limit bucket, in ONE statement
 * (the hot path of every client request, batched by the caller). Requests of unknown users get null
 * and count nothing. Counters are raised once per (bucket, window) by the number of requests, in
 * key order so that two replicas' statements lock the rows in the same order; the k-th request of a
 * bucket (in the order given) gets `total - n + k`, exactly what one upsert per request would give.
 */
export async function getUsersCountingRequests(
  db: Queryable,
  reqs: readonly CountedRequest[],
): Promise<Array<CountedUser | null>> {
  const res = await db.query<
    UserRow & { rl_bucket: string | null; rl_window: Date | null; rl_count: number | null }
  >(
    `WITH req AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS r(user_id, bucket, window_start)),
     u AS (SELECT ${USER_COLUMNS} FROM users WHERE id = ANY($1::text[])),
     inc AS (
       SELECT req.bucket, req.window_start, count(*)::int AS n FROM req JOIN u ON u.id = req.user_id
       WHERE req.bucket IS NOT NULL GROUP BY req.bucket, req.window_start),
     rl AS (
       INSERT INTO rate_limit_counters (bucket, window_start, count)
       SELECT bucket, window_start, n FROM inc ORDER BY bucket, window_start
       ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
       RETURNING bucket, window_start, count)
     SELECT u.*, NULL::text AS rl_bucket, NULL::timestamptz AS rl_window, NULL::int AS rl_count FROM u
     UNION ALL
     SELECT ${NULL_USER_COLUMNS}, bucket, window_start, count FROM rl`,
    [reqs.map((r) => r.userId), reqs.map((r) => r.bucket), reqs.map((r) => r.windowStart.toISOString())],
  );
  const users = new Map<string, UserRow>();
  const totals = new Map<string, number>();
  for (const row of res.rows) {
    const { rl_bucket, rl_window, rl_count, ...user } = row;
    if (rl_bucket !== null && rl_window !== null && rl_count !== null) {
      totals.set(counterKey(rl_bucket, rl_window), rl_count);
    } else {
      users.set(user.id, user);
    }
  }
  const counted = (r: CountedRequest) => r.bucket !== null && users.has(r.userId);
  const inBatch = new Map<string, number>();
  for (const r of reqs) {
    if (!counted(r)) continue;
    const key = counterKey(r.bucket!, r.windowStart);
    inBatch.set(key, (inBatch.get(key) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  return reqs.map((r) => {
    const user = users.get(r.userId);
    if (!user) return null;
    if (!counted(r)) return { user, count: null };
    const key = counterKey(r.bucket!, r.windowStart);
    const k = (seen.get(key) ?? 0) + 1;
    seen.set(key, k);
    const total = totals.get(key);
    if (total === undefined) throw new Error('the rate-limit upsert returned no counter for a bucket');
    return { user, count: total - inBatch.get(key)! + k };
  });
}

export async function listUsers(db: Queryable): Promise<UserRow[]> {
  return (await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, id`)).rows;
}

/** Issues an API key; the caller shows `apiKey` once, only its hash is stored. */
export async function createApiKey(
  db: Queryable,
  userId: string,
  now: Date,
  label: string | null = null,
): Promise<{ keyId: string; apiKey: string }> {
  const apiKey = newApiKey();
  const keyId = newId('key');
  await db.query(
    'INSERT INTO api_keys (id, user_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)',
    [keyId, userId, sha256Hex(apiKey), label, now],
  );
  return { keyId, apiKey };
}

/** The owner of an unrevoked key, marking the key used; null for unknown or revoked keys. */
export async function useApiKey(db: Queryable, apiKey: string, now: Date): Promise<string | null> {
  const res = await db.query<{ user_id: string }>(
    `UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1 AND revoked_at IS NULL RETURNING user_id`,
    [sha256Hex(apiKey), now],
  );
  return res.rows[0]?.user_id ?? null;
}
