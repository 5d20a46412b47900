import type { Queryable } from '../db/types.js';
import { epochMsSql, jsonArraySql, rowFromJsonArray } from './array-rows.js';
import { LIVE_STATUSES_SQL, SESSION_FIELDS, SESSION_JSON_SELECT, type SessionRow } from './sessions.js';
import { consumedSumSql } from './usage.js';
import { USER_COLUMNS, USER_FIELDS, type UserRow } from './users.js';

/**
 * The read a polled route answers from, fetched with the authentication: `live` the user's live
 * session (`GET /relay/active`), `usage` the seconds consumed in the user's stored cycle
 * (`GET /usage/current`).
 */
export type RouteRead = 'live' | 'usage';

/** One client request to authenticate: its user, the bucket it counts in, the read it needs. */
export interface ClientRequest {
  userId: string;
  /** null: the route has no limit, only the user is looked up. */
  bucket: string | null;
  windowStart: Date;
  read: RouteRead | null;
}

/** The result of the request's read, when it asked for one. */
export type RouteReadResult =
  | { kind: 'live'; session: SessionRow | null }
  /** Seconds consumed from the user's stored `cycle_start_at` to `cycle_end_at`, up to the statement's `now`. */
  | { kind: 'usage'; consumedSeconds: number; at: Date };

/** The user, the request's place in its bucket's window (null when nothing was counted), its read. */
export interface AuthenticatedRequest {
  user: UserRow;
  count: number | null;
  read: RouteReadResult | null;
}

/**
 * $1 user ids, $2 buckets, $3 windows, $4 reads, $5 request counts (one each per distinct request
 * of the batch), $6 now. Rows come back as arrays: a user's row is [user, Time Bank sum, live
 * session, null, null, null] (user and session as JSON arrays, see `array-rows.ts`; the sum and the
 * session null unless asked for), a counter's [null, null, null, bucket, window (epoch ms), count].
 */
const AUTHENTICATE_SQL = `WITH req AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::int[])
       AS r(user_id, bucket, window_start, read, n)),
   wants AS (
     SELECT user_id, bool_or(read = 'live') AS live, bool_or(read = 'usage') AS usage
     FROM req GROUP BY user_id),
   u AS (
     SELECT ${USER_COLUMNS}, wants.live AS wants_live, wants.usage AS wants_usage
     FROM users JOIN wants ON wants.user_id = users.id),
   inc AS (
     SELECT req.bucket, req.window_start, sum(req.n)::int AS n FROM req JOIN u ON u.id = req.user_id
     WHERE req.bucket IS NOT NULL GROUP BY req.bucket, req.window_start),
   rl AS (
     INSERT INTO rate_limit_counters (bucket, window_start, count)
     SELECT bucket, window_start, n FROM inc ORDER BY bucket, window_start
     ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
     RETURNING bucket, window_start, count)
   SELECT ${jsonArraySql(USER_FIELDS.map(([name, expr, kind]) => [name, `u.${expr}`, kind] as const))},
     CASE WHEN u.wants_usage THEN (
       SELECT ${consumedSumSql('$6')} FROM sessions s
       WHERE s.user_id = u.id AND s.activated_at >= u.cycle_start_at AND s.activated_at < u.cycle_end_at)
     END,
     live.session, NULL::text, NULL::float8, NULL::int
   FROM u LEFT JOIN LATERAL (
     ${SESSION_JSON_SELECT}
     WHERE u.wants_live AND s.user_id = u.id AND s.status IN ${LIVE_STATUSES_SQL} LIMIT 1) live ON true
   UNION ALL
   SELECT NULL, NULL, NULL, bucket, ${epochMsSql('window_start')}, count FROM rl`;

const counterKey = (bucket: string, windowMs: number) => `${bucket}\u0000${windowMs}`;

/** Requests that differ in nothing the statement sees are sent once, with their number. */
function distinctRequests(reqs: readonly ClientRequest[]) {
  const index = new Map<string, number>();
  const userIds: string[] = [];
  const buckets: Array<string | null> = [];
  const windows: string[] = [];
  const reads: Array<RouteRead | null> = [];
  const counts: number[] = [];
  for (const r of reqs) {
    const key = `${r.userId}\u0000${r.bucket}\u0000${r.windowStart.getTime()}\u0000${r.read}`;
    const i = index.get(key);
    if (i !== undefined) {
      counts[i]! += 1;
      continue;
    }
    index.set(key, counts.length);
    userIds.push(r.userId);
    buckets.push(r.bucket);
    windows.push(r.windowStart.toISOString());
    reads.push(r.read);
    counts.push(1);
  }
  return [userIds, buckets, windows, reads, counts];
}

/**
 * Authenticates many client requests in ONE statement (the hot path of every client request,
 * batched by the caller): their users, every request counted in its rate-limit bucket, and the route
 * reads they need, each asked once per user. Requests of unknown users get null and count nothing.
 *
 * Counters are raised once per (bucket, window) by the number of requests, in key order so that two
 * replicas' statements lock the rows in the same order; the k-th request of a bucket (in the order
 * given) gets `total - n + k`, exactly what one upsert per request would give.
 */
export async function authenticateRequests(
  db: Queryable,
  reqs: readonly ClientRequest[],
  now: Date,
): Promise<Array<AuthenticatedRequest | null>> {
  const res = await db.query<unknown[]>(AUTHENTICATE_SQL, [...distinctRequests(reqs), now.toISOString()], {
    name: 'telemy_authenticate_requests',
    rowMode: 'array',
  });
  const users = new Map<string, { user: UserRow; live: SessionRow | null; consumed: number | null }>();
  const totals = new Map<string, number>();
  for (const [userJson, consumed, sessionJson, bucket, windowMs, count] of res.rows) {
    if (bucket !== null) {
      totals.set(counterKey(bucket as string, windowMs as number), count as number);
      continue;
    }
    const user = rowFromJsonArray(USER_FIELDS, userJson as unknown[]);
    users.set(user.id, {
      user,
      live: sessionJson === null ? null : rowFromJsonArray(SESSION_FIELDS, sessionJson as unknown[]),
      consumed: consumed as number | null,
    });
  }
  const counted = (r: ClientRequest) => r.bucket !== null && users.has(r.userId);
  const inBatch = new Map<string, number>();
  for (const r of reqs) {
    if (!counted(r)) continue;
    const key = counterKey(r.bucket!, r.windowStart.getTime());
    inBatch.set(key, (inBatch.get(key) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  return reqs.map((r) => {
    const found = users.get(r.userId);
    if (!found) return null;
    const read = readResult(r.read, found, now);
    if (!counted(r)) return { user: found.user, count: null, read };
    const key = counterKey(r.bucket!, r.windowStart.getTime());
    const k = (seen.get(key) ?? 0) + 1;
    seen.set(key, k);
    const total = totals.get(key);
    if (total === undefined) throw new Error('the rate-limit upsert returned no counter for a bucket');
    return { user: found.user, count: total - inBatch.get(key)! + k, read };
  });
}

function readResult(
  read: RouteRead | null,
  found: { live: SessionRow | null; consumed: number | null },
  now: Date,
): RouteReadResult | null {
  if (read === 'live') return { kind: 'live', session: found.live };
  if (read === 'usage') {
    if (found.consumed === null) throw new Error('the Time Bank sum is missing for a usage read');
    return { kind: 'usage', consumedSeconds: found.consumed, at: now };
  }
  return null;
}
