import type { SessionStatus } from '@telemy/protocol';
import type { Queryable } from '../db/types.js';
import type { ProvisionedRelay } from '../providers/types.js';
import { recordSessionEvent } from '../store/session-events.js';
import type { ControlPlaneContext } from './context.js';
import { endLease, type LaunchLease, leaseKeeper } from './leases.js';
import { deprovisionInstance, lockSession, stopSession } from './lifecycle.js';
import { assertTransition } from './transitions.js';

interface ProvisionInput {
  session_id: string;
  user_id: string;
  region: string;
  max_session_seconds: number;
  pair_token: string;
  relay_ws_token: string;
  egress_passphrase: string;
  relay_instance_id: string;
  image_id: string;
  instance_type: string;
}

export type LaunchRecord = 'activated' | 'recorded' | 'duplicate';

/**
 * Records `relay` as the session's relay (its provider id and addresses) inside the caller's
 * transaction, which holds the session's lock (`lockSession`; `status` is what it read). A
 * provisioning session whose relay already reported health becomes active: an active session
 * always carries its relay's addresses. `duplicate` when another relay is recorded for the session
 * already (nothing is changed: this one is not the session's).
 */
export async function recordLaunch(
  tx: Queryable,
  session: { id: string; status: SessionStatus },
  instanceRowId: string,
  relay: ProvisionedRelay,
  now: Date,
): Promise<LaunchRecord> {
  const recorded = await tx.query<{ last_health_at: Date | null }>(
    `UPDATE relay_instances SET provider_instance_id = $2, public_ip = $3,
       srt_port = $4, egress_port = $5, ws_port = $6, launched_at = COALESCE(launched_at, $7),
       srtla_port = $8,
       state = CASE WHEN state = 'provisioning' THEN 'running' ELSE state END
     WHERE id = $1 AND (public_ip IS NULL OR provider_instance_id = $2) RETURNING last_health_at`,
    [
      instanceRowId,
      relay.instance_id,
      relay.public_ip,
      relay.srt_port,
      relay.egress_port,
      relay.ws_port,
      now,
      relay.srtla_port ?? null,
    ],
  );
  const row = recorded.rows[0];
  if (!row) return 'duplicate';
  if (session.status === 'provisioning' && row.last_health_at) {
    assertTransition('provisioning', 'active');
    await tx.query(
      `UPDATE sessions SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1`,
      [session.id, now],
    );
    return 'activated';
  }
  return 'recorded';
}

/**
 * Launches the relay of a session under `lease` (its first launch, from the start request, or one
 * the recovery job resumed). The raw relay credential exists only here and in the provider's
 * hand-off to the agent; the database holds its hash. The lease is renewed while the provider
 * works. A launch that fails stops the session (`error_recovery`); a launch that ends after the
 * session was stopped is torn down; a launch that lost its lease (this process was taken for dead)
 * keeps its relay only if that relay is the one recorded for the session, and removes it otherwise.
 */
export async function provisionRelay(
  ctx: ControlPlaneContext,
  sessionId: string,
  relayCredential: string,
  lease: LaunchLease,
) {
  const res = await ctx.db.query<ProvisionInput>(
    `SELECT s.id AS session_id, s.user_id, s.region, s.max_session_seconds, s.pair_token, s.relay_ws_token,
            s.egress_passphrase, s.relay_instance_id, r.image_id, r.instance_type
     FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id WHERE s.id = $1`,
    [sessionId],
  );
  const s = res.rows[0];
  if (!s) return;
  const keeper = leaseKeeper(ctx);
  keeper.hold(s.relay_instance_id);
  try {
    await launch(ctx, s, relayCredential, lease);
  } finally {
    keeper.release(s.relay_instance_id);
  }
}

async function launch(
  ctx: ControlPlaneContext,
  s: ProvisionInput,
  relayCredential: string,
  lease: LaunchLease,
) {
  const sessionId = s.session_id;
  const labels = { provider: ctx.provider.name, region: s.region };
  const t0 = ctx.clock();
  let relay: ProvisionedRelay;
  try {
    relay = await ctx.provider.provision({
      session_id: s.session_id,
      user_id: s.user_id,
      region: s.region,
      image_id: s.image_id,
      instance_type: s.instance_type,
      attempt: lease.attempt,
      agent: {
        control_plane_url: ctx.publicUrl,
        relay_credential: relayCredential,
        pair_token: s.pair_token,
        relay_ws_token: s.relay_ws_token,
        egress_passphrase: s.egress_passphrase,
        max_session_seconds: s.max_session_seconds,
      },
    });
  } catch (err) {
    ctx.metrics.provisionTotal.inc({ ...labels, status: 'error' });
    ctx.metrics.provisionDuration.observe({ ...labels, status: 'error' }, (ctx.clock() - t0) / 1000);
    ctx.log.error({ session: sessionId, err: (err as Error).message }, 'relay provisioning failed');
    if (!(await endLease(ctx.db, s.relay_instance_id, lease))) {
      ctx.log.warn({ session: sessionId }, 'the failed launch had lost its lease; its new owner carries on');
      return;
    }
    await ctx.db.query(`UPDATE relay_instances SET state = 'error' WHERE id = $1 AND state <> 'terminated'`, [
      s.relay_instance_id,
    ]);
    await stopSession(ctx, sessionId, 'error_recovery', 'error');
    return;
  }
  ctx.metrics.provisionTotal.inc({ ...labels, status: 'ok' });
  ctx.metrics.provisionDuration.observe({ ...labels, status: 'ok' }, (ctx.clock() - t0) / 1000);
  const now = new Date(ctx.clock());
  const outcome = await ctx.db.transaction(async (tx) => {
    const cur = await lockSession(tx, sessionId);
    if (!cur) return { status: undefined, record: 'duplicate' as LaunchRecord };
    const owned = await endLease(tx, s.relay_instance_id, lease);
    // Without the lease, this relay is the session's only if the new owner adopted it.
    const adopted =
      !owned &&
      (
        await tx.query<{ provider_instance_id: string | null }>(
          'SELECT provider_instance_id FROM relay_instances WHERE id = $1',
          [s.relay_instance_id],
        )
      ).rows[0]?.provider_instance_id === relay.instance_id;
    const record =
      owned || adopted ? await recordLaunch(tx, cur, s.relay_instance_id, relay, now) : 'duplicate';
    if (record === 'duplicate') {
      await recordSessionEvent(tx, sessionId, 'duplicate_relay_terminated', now, {
        instance_id: relay.instance_id,
        reason: owned ? 'another_relay_recorded' : 'lease_lost',
        attempt: lease.attempt,
      });
    }
    return { status: cur.status, record };
  });
  ctx.userChanged(s.user_id);
  if (outcome.record === 'duplicate') {
    ctx.log.warn(
      { session: sessionId, instance: relay.instance_id },
      'relay launched for a session that has another; removing it',
    );
    await ctx.provider
      .deprovision(relay.instance_id, s.region)
      .catch((err: Error) =>
        ctx.log.warn(
          { instance: relay.instance_id, err: err.message },
          'removing a duplicate relay failed; the watchdog retries',
        ),
      );
    return;
  }
  ctx.log.info({ session: sessionId, instance: relay.instance_id }, 'relay provisioned');
  if (outcome.status === 'stopped') await deprovisionInstance(ctx, s.relay_instance_id);
}
