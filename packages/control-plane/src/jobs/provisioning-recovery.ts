import { newRelayCredential, sha256Hex } from '../ids.js';
import type { ListedRelayInstance, LocatedRelay } from '../providers/types.js';
import type { ControlPlaneContext } from '../service/context.js';
import { endLease, type LaunchLease, leaseKeeper, takeOverLease } from '../service/leases.js';
import { lockSession, stopSession } from '../service/lifecycle.js';
import { provisionRelay, recordLaunch } from '../service/provisioner.js';
import { recordSessionEvent } from '../store/session-events.js';

/** Launches of one session started before it is given up (the first one included). */
export const MAX_PROVISION_ATTEMPTS = 3;

interface Orphan {
  session_id: string;
  user_id: string;
  instance_id: string;
  region: string;
  holder: string | null;
  attempt: number | null;
}

export interface ProvisioningRecoveryResult {
  orphaned: number;
  adopted: string[];
  resumed: string[];
  abandoned: string[];
  duplicatesTerminated: string[];
}

/**
 * Provisionings that no process owns: the session is provisioning, its launch is not recorded, and
 * the lease of the process that was launching it has expired (that process died or lost the
 * database). Each is taken over (the next attempt's lease) and then:
 * - the relay the dead owner launched is adopted when its provider lists it for the session and
 *   knows its addresses (further relays of the session are removed);
 * - otherwise a new relay is launched with a new relay credential (`provisioning_resumed`), unless
 *   the session had `MAX_PROVISION_ATTEMPTS` launches already: then it is stopped (`error_recovery`,
 *   `provisioning_abandoned`).
 * A relay the provider still starts (`pending`) is waited for. Each decision is recorded in
 * `session_events`. Leases left over by launches that ended otherwise are deleted.
 */
export async function runProvisioningRecovery(
  ctx: ControlPlaneContext,
  now: Date,
): Promise<ProvisioningRecoveryResult> {
  const out: ProvisioningRecoveryResult = {
    orphaned: 0,
    adopted: [],
    resumed: [],
    abandoned: [],
    duplicatesTerminated: [],
  };
  await ctx.db.query(
    `DELETE FROM provisioning_leases l WHERE l.expires_at <= $1 AND NOT EXISTS (
       SELECT 1 FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id
       WHERE r.id = l.relay_instance_id AND s.status = 'provisioning' AND r.public_ip IS NULL)`,
    [now],
  );
  const orphans = (
    await ctx.db.query<Orphan>(
      `SELECT s.id AS session_id, s.user_id, r.id AS instance_id, r.region, l.holder, l.attempt
       FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id
       LEFT JOIN provisioning_leases l ON l.relay_instance_id = r.id
       WHERE s.status = 'provisioning' AND r.public_ip IS NULL AND (l.expires_at IS NULL OR l.expires_at <= $1)
       ORDER BY s.started_at`,
      [now],
    )
  ).rows;
  out.orphaned = orphans.length;
  if (orphans.length === 0) return out;
  // Asked once per run, before anything is taken over: a provider that cannot answer leaves the
  // leases as they are for the next run.
  const listed = await ctx.provider.list();
  for (const o of orphans) await recover(ctx, o, listed, now, out);
  return out;
}

async function recover(
  ctx: ControlPlaneContext,
  o: Orphan,
  listed: ListedRelayInstance[],
  now: Date,
  out: ProvisioningRecoveryResult,
): Promise<void> {
  const relays = listed.filter((i) => i.session_id === o.session_id);
  let adoptable: LocatedRelay | null = null;
  let pending = false;
  for (const r of relays) {
    const found = await ctx.provider.locate(r.instance_id, r.region).catch(() => null);
    if (found && found.session_id === o.session_id) {
      adoptable ??= found;
    } else if (r.state === 'pending') {
      pending = true;
    }
  }
  if (!adoptable && pending) return;

  const keeper = leaseKeeper(ctx);
  const lease = await ctx.db.transaction(async (tx) => {
    const s = await lockSession(tx, o.session_id);
    if (s?.status !== 'provisioning') return null;
    const unrecorded = await tx.query('SELECT 1 FROM relay_instances WHERE id = $1 AND public_ip IS NULL', [
      o.instance_id,
    ]);
    if (unrecorded.rows.length === 0) return null;
    return takeOverLease(tx, o.instance_id, o.session_id, keeper.holder, now, keeper.expiresAt());
  });
  if (!lease) return;
  const previous = { previous_holder: o.holder, previous_attempt: o.attempt ?? 1, reason: 'owner_lost' };
  ctx.log.warn(
    { session: o.session_id, ...previous, attempt: lease.attempt },
    'taking over a provisioning whose owner is gone',
  );
  keeper.hold(o.instance_id);
  try {
    const extras = relays.filter((r) => r.instance_id !== adoptable?.instance_id);
    if (adoptable) {
      await adopt(ctx, o, adoptable, lease, previous, now);
      out.adopted.push(o.session_id);
    }
    for (const r of extras) {
      try {
        await ctx.provider.deprovision(r.instance_id, r.region);
      } catch (err) {
        ctx.log.warn(
          { instance: r.instance_id, err: (err as Error).message },
          'removing a duplicate relay failed; the watchdog retries',
        );
        continue;
      }
      await recordSessionEvent(ctx.db, o.session_id, 'duplicate_relay_terminated', now, {
        instance_id: r.instance_id,
        reason: adoptable ? 'another_relay_adopted' : 'not_adoptable',
      });
      out.duplicatesTerminated.push(r.instance_id);
    }
    if (adoptable) return;
    if (lease.attempt > MAX_PROVISION_ATTEMPTS) {
      await recordSessionEvent(ctx.db, o.session_id, 'provisioning_abandoned', now, {
        ...previous,
        attempts: lease.attempt - 1,
      });
      await endLease(ctx.db, o.instance_id, lease);
      if (await stopSession(ctx, o.session_id, 'error_recovery', 'error')) out.abandoned.push(o.session_id);
      return;
    }
    await resume(ctx, o, lease, previous, now);
    out.resumed.push(o.session_id);
  } finally {
    keeper.release(o.instance_id);
  }
}

/** Records the relay the dead owner launched as the session's. */
async function adopt(
  ctx: ControlPlaneContext,
  o: Orphan,
  relay: LocatedRelay,
  lease: LaunchLease,
  previous: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const s = await lockSession(tx, o.session_id);
    if (!s || s.status === 'stopped') return;
    await endLease(tx, o.instance_id, lease);
    if ((await recordLaunch(tx, s, o.instance_id, relay, now)) === 'duplicate') return;
    await recordSessionEvent(tx, o.session_id, 'relay_adopted', now, {
      source: 'recovery',
      instance_id: relay.instance_id,
      attempt: lease.attempt,
      ...previous,
    });
  });
  ctx.userChanged(o.user_id);
  ctx.log.info({ session: o.session_id, instance: relay.instance_id }, 'adopted the relay of a dead owner');
}

/**
 * Launches a new relay under `lease`. The dead owner's credential is replaced (its raw value died
 * with it): a relay of the old launch that shows up later cannot report for the session.
 */
async function resume(
  ctx: ControlPlaneContext,
  o: Orphan,
  lease: LaunchLease,
  previous: Record<string, unknown>,
  now: Date,
): Promise<void> {
  const credential = newRelayCredential();
  const ok = await ctx.db.transaction(async (tx) => {
    const s = await lockSession(tx, o.session_id);
    if (s?.status !== 'provisioning') return false;
    const res = await tx.query(
      `UPDATE relay_instances SET credential_hash = $2, provider_instance_id = NULL, last_health_at = NULL,
         state = 'provisioning'
       WHERE id = $1 AND public_ip IS NULL`,
      [o.instance_id, sha256Hex(credential)],
    );
    if (res.rowCount === 0) return false;
    await recordSessionEvent(tx, o.session_id, 'provisioning_resumed', now, {
      ...previous,
      attempt: lease.attempt,
    });
    return true;
  });
  if (!ok) {
    await endLease(ctx.db, o.instance_id, lease);
    return;
  }
  ctx.userChanged(o.user_id);
  ctx.tasks.run(() => provisionRelay(ctx, o.session_id, credential, lease));
}
