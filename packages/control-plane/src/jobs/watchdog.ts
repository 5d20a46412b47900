import { PLANS } from '../plans.js';
import type { ControlPlaneContext } from '../service/context.js';
import { deprovisionInstance, type SessionStopReason, stopSession } from '../service/lifecycle.js';
import { assertTransition } from '../service/transitions.js';
import { recordSessionEvent } from '../store/session-events.js';
import { LIVE_STATUSES_SQL } from '../store/sessions.js';
import { usageSummary } from '../store/usage.js';
import { getUser } from '../store/users.js';

export type WatchdogAction =
  | 'provisioning_timeout'
  | 'health_lost'
  | 'grace_entered'
  | 'grace_expired'
  | 'max_session'
  | 'time_bank_exhausted'
  | 'deprovision_retry'
  | 'orphan_terminated';

interface LiveRow {
  id: string;
  user_id: string;
  status: 'provisioning' | 'active' | 'grace';
  started_at: Date;
  activated_at: Date | null;
  grace_started_at: Date | null;
  grace_window_seconds: number;
  max_session_seconds: number;
  last_health_at: Date | null;
}

const ageSeconds = (t: Date, now: Date) => (now.getTime() - t.getTime()) / 1000;

/**
 * Whatever the relays and clients stop doing, sessions end, instances go away and nothing keeps
 * billing. Each corrective action is counted by kind.
 */
export async function runWatchdog(ctx: ControlPlaneContext, now: Date) {
  const actions: { action: WatchdogAction; id: string }[] = [];
  const act = (action: WatchdogAction, id: string) => {
    actions.push({ action, id });
    ctx.metrics.watchdogActions.inc({ action });
  };
  const stop = async (
    id: string,
    reason: SessionStopReason,
    action: WatchdogAction,
    instanceState: 'terminating' | 'error' = 'terminating',
  ): Promise<boolean> => {
    if (!(await stopSession(ctx, id, reason, instanceState))) return false;
    act(action, id);
    return true;
  };
  const t = ctx.timers;

  const live = await ctx.db.query<LiveRow>(
    `SELECT s.id, s.user_id, s.status, s.started_at, s.activated_at, s.grace_started_at, s.grace_window_seconds,
            s.max_session_seconds, r.last_health_at
     FROM sessions s LEFT JOIN relay_instances r ON r.id = s.relay_instance_id
     WHERE s.status IN ${LIVE_STATUSES_SQL} ORDER BY s.started_at`,
  );
  const exhaustedUsers = new Map<string, boolean>();
  for (const s of live.rows) {
    if (s.status === 'provisioning') {
      if (
        ageSeconds(s.started_at, now) >= t.provisioningTimeoutSeconds &&
        (await stop(s.id, 'error_recovery', 'provisioning_timeout', 'error'))
      ) {
        await recordSessionEvent(ctx.db, s.id, 'provisioning_timeout', now, {
          timeout_seconds: t.provisioningTimeoutSeconds,
          relay_reported: s.last_health_at !== null,
        });
      }
      continue;
    }
    const activated = s.activated_at ?? s.started_at;
    const lastHeard = s.last_health_at ?? activated;
    if (ageSeconds(lastHeard, now) >= t.healthLostSeconds) {
      await stop(s.id, 'error_recovery', 'health_lost', 'error');
      continue;
    }
    if (ageSeconds(activated, now) >= s.max_session_seconds) {
      await stop(s.id, 'max_session_reached', 'max_session');
      continue;
    }
    if (
      s.status === 'grace' &&
      s.grace_started_at &&
      ageSeconds(s.grace_started_at, now) >= s.grace_window_seconds
    ) {
      await stop(s.id, 'grace_expired', 'grace_expired');
      continue;
    }
    if (!exhaustedUsers.has(s.user_id)) {
      const user = await getUser(ctx.db, s.user_id);
      const exhausted =
        !!user &&
        !PLANS[user.plan_tier].overageAllowed &&
        (await usageSummary(ctx.db, user, now)).remainingSeconds <= 0;
      exhaustedUsers.set(s.user_id, exhausted);
    }
    if (exhaustedUsers.get(s.user_id)) {
      await stop(s.id, 'time_bank_exhausted', 'time_bank_exhausted');
      continue;
    }
    if (s.status === 'active' && ageSeconds(lastHeard, now) >= t.healthSilenceGraceSeconds) {
      assertTransition('active', 'grace');
      const res = await ctx.db.query(
        `UPDATE sessions SET status = 'grace', grace_started_at = $2, updated_at = $2 WHERE id = $1 AND status = 'active'`,
        [s.id, now],
      );
      if (res.rowCount > 0) {
        ctx.userChanged(s.user_id);
        act('grace_entered', s.id);
      }
    }
  }

  // Teardown that failed earlier (or never ran because its process died) is retried here.
  const pending = await ctx.db.query<{ id: string }>(
    `SELECT r.id FROM relay_instances r JOIN sessions s ON s.id = r.session_id
     WHERE s.status = 'stopped' AND r.state IN ('terminating', 'error', 'running', 'provisioning')
       AND r.provider_instance_id IS NOT NULL`,
  );
  for (const { id } of pending.rows) {
    if (await deprovisionInstance(ctx, id)) act('deprovision_retry', id);
  }

  // Orphans: instances the provider says are ours that the database neither knows nor needs, and
  // duplicates: a second relay of a live session whose relay is recorded (a launch that lost its
  // lease, one a dead owner left behind). A live session's relay whose launch is not recorded yet
  // is kept: its launch is in flight, or the provisioning recovery adopts it.
  const listed = await ctx.provider.list();
  if (listed.length > 0) {
    const known = await ctx.db.query<{ provider_instance_id: string }>(
      'SELECT provider_instance_id FROM relay_instances WHERE provider_instance_id = ANY($1::text[])',
      [listed.map((i) => i.instance_id)],
    );
    const liveSessions = await ctx.db.query<{ id: string; recorded: string | null }>(
      `SELECT s.id, CASE WHEN r.public_ip IS NOT NULL THEN r.provider_instance_id END AS recorded
       FROM sessions s LEFT JOIN relay_instances r ON r.id = s.relay_instance_id
       WHERE s.id = ANY($1::text[]) AND s.status <> 'stopped'`,
      [listed.map((i) => i.session_id).filter((x): x is string => !!x)],
    );
    const knownIds = new Set(known.rows.map((k) => k.provider_instance_id));
    const live = new Map(liveSessions.rows.map((r) => [r.id, r.recorded]));
    for (const inst of listed) {
      if (knownIds.has(inst.instance_id)) continue;
      const duplicateOf = inst.session_id ? live.get(inst.session_id) : undefined;
      if (duplicateOf === null) continue;
      try {
        await ctx.provider.deprovision(inst.instance_id, inst.region);
        act('orphan_terminated', inst.instance_id);
        if (duplicateOf && inst.session_id) {
          await recordSessionEvent(ctx.db, inst.session_id, 'duplicate_relay_terminated', now, {
            instance_id: inst.instance_id,
            reason: 'another_relay_recorded',
            recorded: duplicateOf,
          });
        }
      } catch (err) {
        ctx.log.warn(
          { instance: inst.instance_id, err: (err as Error).message },
          'orphan termination failed',
        );
      }
    }
  }
  return { actions };
}
