import { newId } from '../ids.js';
import type { ControlPlaneContext } from '../service/context.js';
import { lockSession } from '../service/lifecycle.js';
import { upsertUsageRecord } from '../store/usage.js';

/** Brings `duration_seconds` and the usage record of every active or grace session up to `now`. */
export async function runUsageRollup(ctx: ControlPlaneContext, now: Date) {
  const live = await ctx.db.query<{ id: string }>(
    `SELECT id FROM sessions WHERE status IN ('active', 'grace') AND activated_at IS NOT NULL`,
  );
  for (const { id } of live.rows) {
    await ctx.db.transaction(async (tx) => {
      const s = await lockSession(tx, id);
      if (!s?.activated_at || (s.status !== 'active' && s.status !== 'grace')) return;
      const seconds = Math.max(0, Math.floor((now.getTime() - s.activated_at.getTime()) / 1000));
      await tx.query('UPDATE sessions SET duration_seconds = $2 WHERE id = $1', [id, seconds]);
      await upsertUsageRecord(tx, id, now);
    });
  }
  return { sessions: live.rows.length };
}

/** Sessions stopped longer ago than this are final: their reports are not revisited. */
const RECONCILE_LOOKBACK_MS = 7 * 86_400_000;

/**
 * The relay's own clock is the witness when the backend missed time (an outage, a late first report):
 * when the maximum `session_uptime_seconds` exceeds what the backend counted, the gap is written once
 * as a `billing_adjustments` row and added to `reconciled_seconds`. A rerun finds no gap left.
 */
export async function runOutageReconciliation(ctx: ControlPlaneContext, now: Date) {
  const candidates = await ctx.db.query<{ id: string }>(
    `SELECT s.id FROM sessions s
     WHERE s.activated_at IS NOT NULL
       AND (s.status IN ('active', 'grace') OR s.stopped_at >= $1)
       AND EXISTS (SELECT 1 FROM relay_health_events h WHERE h.session_id = s.id)`,
    [new Date(now.getTime() - RECONCILE_LOOKBACK_MS)],
  );
  let adjustments = 0;
  for (const { id } of candidates.rows) {
    const wrote = await ctx.db.transaction(async (tx) => {
      const s = await lockSession(tx, id);
      if (!s?.activated_at) return null;
      const res = await tx.query<{
        duration_seconds: number;
        reconciled_seconds: number;
        max_uptime: number;
      }>(
        `SELECT s.duration_seconds, s.reconciled_seconds,
                (SELECT MAX(session_uptime_seconds) FROM relay_health_events WHERE session_id = s.id)::int AS max_uptime
         FROM sessions s WHERE s.id = $1`,
        [id],
      );
      const r = res.rows[0];
      if (!r) return null;
      const counted =
        s.status === 'stopped'
          ? r.duration_seconds
          : Math.max(0, Math.floor((now.getTime() - s.activated_at.getTime()) / 1000));
      const gap = r.max_uptime - (counted + r.reconciled_seconds);
      if (gap <= 0) return null;
      await tx.query(
        `INSERT INTO billing_adjustments (id, user_id, session_id, adjustment_seconds, reason, source, created_at)
         VALUES ($1, $2, $3, $4, 'outage_reconciliation', 'relay_health', $5)`,
        [newId('adj'), s.user_id, id, gap, now],
      );
      await tx.query('UPDATE sessions SET reconciled_seconds = reconciled_seconds + $2 WHERE id = $1', [
        id,
        gap,
      ]);
      await upsertUsageRecord(tx, id, now);
      return s.user_id;
    });
    if (wrote) {
      ctx.userChanged(wrote);
      adjustments += 1;
    }
  }
  return { sessions: candidates.rows.length, adjustments };
}
