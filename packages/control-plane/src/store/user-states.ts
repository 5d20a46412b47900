import type { UserState } from '../cache/user-state-cache.js';
import type { Queryable } from '../db/types.js';
import { epochMsSql, jsonArraySql, rowFromJsonArray } from './array-rows.js';
import { LIVE_STATUSES_SQL, SESSION_FIELDS, SESSION_JSON_SELECT } from './sessions.js';
import { consumedPartsSql } from './usage.js';
import { USER_COLUMNS, USER_FIELDS } from './users.js';

/** Raise the counter of `bucket`'s window by `amount`, if the user `userId` exists. */
export interface CounterLease {
  userId: string;
  bucket: string;
  windowStartMs: number;
  amount: number;
}

export interface UserStatesRead {
  /** The state of each requested user that exists. */
  states: Map<string, UserState>;
  /** Each raised counter's new total, by `counterKey`. */
  totals: Map<string, number>;
}

export const counterKey = (bucket: string, windowStartMs: number) => `${bucket}\u0000${windowStartMs}`;

/**
 * $1 user ids; $2 user ids, $3 buckets, $4 windows, $5 amounts (one each per counter, distinct
 * (bucket, window) pairs). Rows come back as arrays: a user's row is [user, settled, running, live
 * session, null, null, null] (user and session as JSON arrays, see `array-rows.ts`), a counter's
 * [null, null, null, null, bucket, window (epoch ms), count].
 */
const USER_STATES_SQL = `WITH u AS (
     SELECT ${USER_COLUMNS} FROM users WHERE id = ANY($1::text[])),
   lease AS (
     SELECT l.bucket, l.window_start, l.n
     FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[]) AS l(user_id, bucket, window_start, n)
     WHERE EXISTS (SELECT 1 FROM users WHERE users.id = l.user_id)),
   rl AS (
     INSERT INTO rate_limit_counters (bucket, window_start, count)
     SELECT bucket, window_start, n FROM lease ORDER BY bucket, window_start
     ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
     RETURNING bucket, window_start, count)
   SELECT ${jsonArraySql(USER_FIELDS.map(([name, expr, kind]) => [name, `u.${expr}`, kind] as const))},
     c.settled, c.running, live.session, NULL::text, NULL::float8, NULL::int
   FROM u
   CROSS JOIN LATERAL (
     SELECT ${consumedPartsSql} FROM sessions s
     WHERE s.user_id = u.id AND s.activated_at >= u.cycle_start_at AND s.activated_at < u.cycle_end_at) c
   LEFT JOIN LATERAL (
     ${SESSION_JSON_SELECT}
     WHERE s.user_id = u.id AND s.status IN ${LIVE_STATUSES_SQL} LIMIT 1) live ON true
   UNION ALL
   SELECT NULL, NULL, NULL, NULL, bucket, ${epochMsSql('window_start')}, count FROM rl`;

/**
 * The hot path's one statement (batched by the caller, `ClientAuthenticator`): the `UserState` of
 * every user in `userIds`, and every counter of `leases` raised by its amount. Counters are raised in
 * key order so that two replicas' statements lock the rows in the same order. A lease of a user that
 * does not exist raises nothing.
 */
export async function readUserStates(
  db: Queryable,
  userIds: readonly string[],
  leases: readonly CounterLease[],
): Promise<UserStatesRead> {
  const res = await db.query<unknown[]>(
    USER_STATES_SQL,
    [
      userIds,
      leases.map((l) => l.userId),
      leases.map((l) => l.bucket),
      leases.map((l) => new Date(l.windowStartMs).toISOString()),
      leases.map((l) => l.amount),
    ],
    { name: 'telemy_read_user_states', rowMode: 'array' },
  );
  const states = new Map<string, UserState>();
  const totals = new Map<string, number>();
  for (const [userJson, settled, running, sessionJson, bucket, windowMs, count] of res.rows) {
    if (bucket !== null) {
      totals.set(counterKey(bucket as string, windowMs as number), count as number);
      continue;
    }
    const user = rowFromJsonArray(USER_FIELDS, userJson as unknown[]);
    states.set(user.id, {
      user,
      live: sessionJson === null ? null : rowFromJsonArray(SESSION_FIELDS, sessionJson as unknown[]),
      consumed: { settledSeconds: settled as number, runningSinceMs: running as number[] },
    });
  }
  return { states, totals };
}
