import type { SessionStatus } from '@telemy/protocol';
import type { Queryable } from '../db/types.js';
import { upsertUsageRecord } from '../store/usage.js';
import type { ControlPlaneContext } from './context.js';
import { assertTransition } from './transitions.js';

export type SessionStopReason =
  | 'user_requested'
  | 'shutdown'
  | 'admin_forced'
  | 'error_recovery'
  | 'grace_expired'
  | 'max_session_reached'
  | 'time_bank_exhausted';

interface LockedSession {
  id: string;
  user_id: string;
  status: SessionStatus;
  activated_at: Date | null;
  stopped_at: Date | null;
  relay_instance_id: string | null;
}

export async function lockSession(tx: Queryable, sessionId: string): Promise<LockedSession | null> {
  const res = await tx.query<LockedSession>(
    'SELECT id, user_id, status, activated_at, stopped_at, relay_instance_id FROM sessions WHERE id = $1 FOR UPDATE',
    [sessionId],
  );
  return res.rows[0] ?? null;
}

/**
 * Stops a session inside the caller's transaction: final duration at `now`, usage record written,
 * instance marked for teardown (`instanceState`). Returns false when it was already stopped.
 */
export async function stopSessionTx(
  tx: Queryable,
  sessionId: string,
  reason: SessionStopReason,
  now: Date,
  instanceState: 'terminating' | 'error' = 'terminating',
): Promise<boolean> {
  const s = await lockSession(tx, sessionId);
  if (!s || s.status === 'stopped') return false;
  assertTransition(s.status, 'stopped');
  const duration = s.activated_at
    ? Math.max(0, Math.floor((now.getTime() - s.activated_at.getTime()) / 1000))
    : 0;
  await tx.query(
    `UPDATE sessions SET status = 'stopped', stopped_at = $2, stop_reason = $3, duration_seconds = $4,
       updated_at = $2 WHERE id = $1`,
    [sessionId, now, reason, duration],
  );
  if (s.relay_instance_id) {
    await tx.query(
      `UPDATE relay_instances SET state = $2 WHERE id = $1 AND state NOT IN ('terminated', 'error')`,
      [s.relay_instance_id, instanceState],
    );
  }
  await upsertUsageRecord(tx, sessionId, now);
  return true;
}

interface InstanceRow {
  id: string;
  provider: string;
  provider_instance_id: string | null;
  region: string;
  state: string;
}

/**
 * Removes a relay's infrastructure. A failure leaves the row as it was so the watchdog retries; an
 * instance whose launch never returned an id is handled by the provisioner when the launch ends.
 */
export async function deprovisionInstance(ctx: ControlPlaneContext, instanceRowId: string): Promise<boolean> {
  const res = await ctx.db.query<InstanceRow>(
    'SELECT id, provider, provider_instance_id, region, state FROM relay_instances WHERE id = $1',
    [instanceRowId],
  );
  const inst = res.rows[0];
  if (!inst || inst.state === 'terminated' || !inst.provider_instance_id) return false;
  const labels = { provider: ctx.provider.name, region: inst.region };
  const t0 = ctx.clock();
  try {
    await ctx.provider.deprovision(inst.provider_instance_id, inst.region);
  } catch (err) {
    ctx.metrics.deprovisionTotal.inc({ ...labels, status: 'error' });
    ctx.metrics.deprovisionDuration.observe({ ...labels, status: 'error' }, (ctx.clock() - t0) / 1000);
    ctx.log.warn(
      { instance: inst.id, err: (err as Error).message },
      'deprovision failed; the watchdog retries',
    );
    return false;
  }
  ctx.metrics.deprovisionTotal.inc({ ...labels, status: 'ok' });
  ctx.metrics.deprovisionDuration.observe({ ...labels, status: 'ok' }, (ctx.clock() - t0) / 1000);
  await ctx.db.query(`UPDATE relay_instances SET state = 'terminated', terminated_at = $2 WHERE id = $1`, [
    inst.id,
    new Date(ctx.clock()),
  ]);
  return true;
}

/** Stops a session in its own transaction, then tears its relay down in the background. */
export async function stopSession(
  ctx: ControlPlaneContext,
  sessionId: string,
  reason: SessionStopReason,
  instanceState: 'terminating' | 'error' = 'terminating',
): Promise<boolean> {
  const now = new Date(ctx.clock());
  const stopped = await ctx.db.transaction((tx) => stopSessionTx(tx, sessionId, reason, now, instanceState));
  if (stopped) {
    const inst = await ctx.db.query<{ user_id: string; relay_instance_id: string | null }>(
      'SELECT user_id, relay_instance_id FROM sessions WHERE id = $1',
      [sessionId],
    );
    if (inst.rows[0]) ctx.userChanged(inst.rows[0].user_id);
    const id = inst.rows[0]?.relay_instance_id;
    if (id) ctx.tasks.run(async () => void (await deprovisionInstance(ctx, id)));
  }
  return stopped;
}
