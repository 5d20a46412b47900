import type { Queryable } from '../db/types.js';
import { randomToken } from '../ids.js';
import type { ControlPlaneContext } from './context.js';

/** The lease a launch runs under: the process that holds it and which attempt of the session it is. */
export interface LaunchLease {
  holder: string;
  attempt: number;
}

/**
 * This process's leases on the launches it is running (`provisioning_leases`, migration 005): while
 * it holds any, it renews them every quarter of `provisioningLeaseSeconds`. A process that dies
 * stops renewing, and its launches are taken over once their leases expire.
 */
export class LeaseKeeper {
  /** Names this process (this control plane instance) in `provisioning_leases.holder`. */
  readonly holder = `cp_${randomToken(16).toLowerCase()}`;
  private readonly held = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;

  constructor(private readonly ctx: ControlPlaneContext) {}

  /** When a lease taken or renewed now expires. */
  expiresAt(): Date {
    return new Date(this.ctx.clock() + this.ctx.timers.provisioningLeaseSeconds * 1000);
  }

  /** Keeps renewing the lease of this relay instance row until as many `release` calls. */
  hold(instanceRowId: string): void {
    this.held.set(instanceRowId, (this.held.get(instanceRowId) ?? 0) + 1);
    if (!this.timer) {
      const everyMs = Math.max(100, (this.ctx.timers.provisioningLeaseSeconds * 1000) / 4);
      this.timer = setInterval(() => void this.renew(), everyMs);
      this.timer.unref();
    }
  }

  release(instanceRowId: string): void {
    const n = (this.held.get(instanceRowId) ?? 0) - 1;
    if (n > 0) this.held.set(instanceRowId, n);
    else this.held.delete(instanceRowId);
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.held.size === 0) return;
    this.renewing = true;
    try {
      await this.ctx.db.query(
        `UPDATE provisioning_leases SET expires_at = $3
         WHERE holder = $1 AND relay_instance_id = ANY($2::text[])`,
        [this.holder, [...this.held.keys()], this.expiresAt()],
      );
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'provisioning lease renewal failed; retrying');
    } finally {
      this.renewing = false;
    }
  }
}

const keepers = new WeakMap<ControlPlaneContext, LeaseKeeper>();

/** The lease keeper of a control plane (one per context: one per process outside tests). */
export function leaseKeeper(ctx: ControlPlaneContext): LeaseKeeper {
  let k = keepers.get(ctx);
  if (!k) {
    k = new LeaseKeeper(ctx);
    keepers.set(ctx, k);
  }
  return k;
}

/** The lease of a new session's first launch, inserted with the session. */
export async function insertLease(
  tx: Queryable,
  instanceRowId: string,
  sessionId: string,
  lease: LaunchLease,
  expiresAt: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO provisioning_leases (relay_instance_id, session_id, holder, attempt, expires_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [instanceRowId, sessionId, lease.holder, lease.attempt, expiresAt],
  );
}

/** Ends a launch's lease; true when it was still this launch's (nobody took it over). */
export async function endLease(tx: Queryable, instanceRowId: string, lease: LaunchLease): Promise<boolean> {
  const res = await tx.query(
    'DELETE FROM provisioning_leases WHERE relay_instance_id = $1 AND holder = $2 AND attempt = $3',
    [instanceRowId, lease.holder, lease.attempt],
  );
  return res.rowCount > 0;
}

/**
 * Takes over the launch of a relay instance row whose lease expired at `now` (or that has none, a
 * launch from before leases existed): the next attempt's lease, or null when it is not expired
 * (its owner renewed it, or another process took it over first).
 */
export async function takeOverLease(
  tx: Queryable,
  instanceRowId: string,
  sessionId: string,
  holder: string,
  now: Date,
  expiresAt: Date,
): Promise<LaunchLease | null> {
  const res = await tx.query<{ attempt: number }>(
    `INSERT INTO provisioning_leases (relay_instance_id, session_id, holder, attempt, expires_at)
     VALUES ($1, $2, $3, 2, $4)
     ON CONFLICT (relay_instance_id) DO UPDATE
       SET holder = EXCLUDED.holder, attempt = provisioning_leases.attempt + 1, expires_at = EXCLUDED.expires_at
       WHERE provisioning_leases.expires_at <= $5
     RETURNING attempt`,
    [instanceRowId, sessionId, holder, expiresAt, now],
  );
  const attempt = res.rows[0]?.attempt;
  return attempt === undefined ? null : { holder, attempt };
}
