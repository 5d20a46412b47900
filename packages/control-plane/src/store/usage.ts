import type { Queryable } from '../db/types.js';
import { newId } from '../ids.js';
import { currentCycle, PLANS } from '../plans.js';
import { epochMsSql } from './array-rows.js';
import { secondsBetween } from './sessions.js';
import type { UserRow } from './users.js';

export interface UsageSummary {
  cycleStart: Date;
  cycleEnd: Date;
  includedSeconds: number;
  consumedSeconds: number;
  remainingSeconds: number;
  overageSeconds: number;
  overageAllowed: boolean;
}

/**
 * What a user's sessions of one cycle have consumed, split so that it can be brought up to any
 * later moment without reading the database again (the API caches it, `src/cache/`): `settledSeconds`
 * is final (stopped sessions' durations plus every session's reconciliation adjustments), and each
 * running session adds its time since activation, `runningSinceMs` (provisioning is free).
 */
export interface ConsumedParts {
  settledSeconds: number;
  runningSinceMs: number[];
}

/**
 * `ConsumedParts` of the joined sessions `s` (aggregate) as two columns, `settled` and `running`
 * (activation times as epoch ms); the caller restricts `s` to one user's cycle.
 */
export const consumedPartsSql = `COALESCE(SUM(CASE WHEN s.status = 'stopped' THEN s.duration_seconds ELSE 0 END
       + s.reconciled_seconds), 0)::int AS settled,
     COALESCE(array_agg(${epochMsSql('s.activated_at')}) FILTER (WHERE s.status <> 'stopped'), '{}') AS running`;

/** Seconds consumed at `nowMs` (the same rule as `liveDurationSeconds`, summed). */
export function consumedSecondsAt(parts: ConsumedParts, nowMs: number): number {
  let total = parts.settledSeconds;
  for (const since of parts.runningSinceMs) total += secondsBetween(since, nowMs);
  return total;
}

/** The Time Bank of `user` in `cycle`, given the seconds consumed in it. */
export function summarizeUsage(
  user: UserRow,
  cycle: { start: Date; end: Date },
  consumed: number,
): UsageSummary {
  const included = user.included_seconds;
  return {
    cycleStart: cycle.start,
    cycleEnd: cycle.end,
    includedSeconds: included,
    consumedSeconds: consumed,
    remainingSeconds: Math.max(0, included - consumed),
    overageSeconds: Math.max(0, consumed - included),
    overageAllowed: PLANS[user.plan_tier].overageAllowed,
  };
}

/** The user's Time Bank in the cycle containing `now`. */
export async function usageSummary(db: Queryable, user: UserRow, now: Date): Promise<UsageSummary> {
  const cycle = currentCycle(user.cycle_start_at, user.cycle_end_at, now);
  const res = await db.query<{ settled: number; running: number[] }>(
    `SELECT ${consumedPartsSql} FROM sessions s
     WHERE s.user_id = $1 AND s.activated_at >= $2 AND s.activated_at < $3`,
    [user.id, cycle.start, cycle.end],
  );
  const row = res.rows[0];
  const parts = { settledSeconds: row?.settled ?? 0, runningSinceMs: row?.running ?? [] };
  return summarizeUsage(user, cycle, consumedSecondsAt(parts, now.getTime()));
}

/**
 * Writes the session's usage record for its cycle from the session's current figures. Overage is the
 * part of this session's billable time beyond the Time Bank left by earlier sessions of the cycle.
 */
export async function upsertUsageRecord(db: Queryable, sessionId: string, now: Date): Promise<void> {
  const res = await db.query<{
    user_id: string;
    status: string;
    activated_at: Date | null;
    duration_seconds: number;
    reconciled_seconds: number;
    cycle_start_at: Date;
    cycle_end_at: Date;
    included_seconds: number;
  }>(
    `SELECT s.user_id, s.status, s.activated_at, s.duration_seconds, s.reconciled_seconds,
            u.cycle_start_at, u.cycle_end_at, u.included_seconds
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
    [sessionId],
  );
  const s = res.rows[0];
  if (!s?.activated_at) return;
  const cycle = currentCycle(s.cycle_start_at, s.cycle_end_at, s.activated_at);
  const measured =
    s.status === 'stopped'
      ? s.duration_seconds
      : Math.max(0, Math.floor((now.getTime() - s.activated_at.getTime()) / 1000));
  const billable = measured + s.reconciled_seconds;
  const prior = await db.query<{ billable: number }>(
    `SELECT COALESCE(SUM(u.billable_seconds), 0)::int AS billable
     FROM usage_records u JOIN sessions s ON s.id = u.session_id
     WHERE u.user_id = $1 AND u.cycle_start_at = $2 AND u.session_id <> $3 AND s.activated_at < $4`,
    [s.user_id, cycle.start, sessionId, s.activated_at],
  );
  const before = prior.rows[0]?.billable ?? 0;
  const overage =
    Math.max(0, before + billable - s.included_seconds) - Math.max(0, before - s.included_seconds);
  await db.query(
    `INSERT INTO usage_records (id, user_id, session_id, cycle_start_at, cycle_end_at, measured_seconds,
       reconciled_seconds, billable_seconds, overage_seconds, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (session_id, cycle_start_at) DO UPDATE SET
       measured_seconds = EXCLUDED.measured_seconds, reconciled_seconds = EXCLUDED.reconciled_seconds,
       billable_seconds = EXCLUDED.billable_seconds, overage_seconds = EXCLUDED.overage_seconds,
       updated_at = EXCLUDED.updated_at`,
    [
      newId('use'),
      s.user_id,
      sessionId,
      cycle.start,
      cycle.end,
      measured,
      s.reconciled_seconds,
      billable,
      overage,
      now,
    ],
  );
}
