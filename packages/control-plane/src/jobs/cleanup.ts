import type { ControlPlaneContext } from '../service/context.js';
import { deleteOldRateLimitWindows } from '../store/rate-limits.js';

/** Deletes expired idempotency records, and rate-limit windows older than an hour. */
export async function runIdempotencyCleanup(ctx: ControlPlaneContext, now: Date) {
  const records = await ctx.db.query('DELETE FROM idempotency_records WHERE expires_at <= $1', [now]);
  const windows = await deleteOldRateLimitWindows(ctx.db, new Date(now.getTime() - 3_600_000));
  return { idempotencyRecords: records.rowCount, rateLimitWindows: windows };
}

/** Deletes relay health events older than the retention window (default 30 days). */
export async function runHealthRetention(ctx: ControlPlaneContext, now: Date) {
  const cutoff = new Date(now.getTime() - ctx.timers.healthRetentionSeconds * 1000);
  const res = await ctx.db.query('DELETE FROM relay_health_events WHERE observed_at < $1', [cutoff]);
  return { deleted: res.rowCount };
}
