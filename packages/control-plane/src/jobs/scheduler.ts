import type { ControlPlaneContext } from '../service/context.js';
import { runHealthRetention, runIdempotencyCleanup } from './cleanup.js';
import { runProvisioningRecovery } from './provisioning-recovery.js';
import { type JobName, runJob } from './run-job.js';
import { runOutageReconciliation, runUsageRollup } from './usage.js';
import { runWatchdog } from './watchdog.js';

/** Every job with its period. */
export const JOBS: Record<
  JobName,
  { everyMs: number; run: (ctx: ControlPlaneContext, now: Date) => Promise<unknown> }
> = {
  idempotency_cleanup: { everyMs: 5 * 60_000, run: runIdempotencyCleanup },
  usage_rollup: { everyMs: 60_000, run: runUsageRollup },
  outage_reconciliation: { everyMs: 2 * 60_000, run: runOutageReconciliation },
  watchdog: { everyMs: 30_000, run: runWatchdog },
  health_retention: { everyMs: 86_400_000, run: runHealthRetention },
  // Often: a provisioning whose owner died is taken over this soon after its lease expired.
  provisioning_recovery: { everyMs: 5_000, run: runProvisioningRecovery },
};

/** Runs one job now, under its lock, counted and timed. */
export function runJobNow(ctx: ControlPlaneContext, job: JobName) {
  return runJob(ctx, job, () => JOBS[job].run(ctx, new Date(ctx.clock())));
}

/**
 * Starts every job on its period (each also once right away). A run still going when its next tick
 * comes is not overlapped. Returns a function that stops the timers and waits for running jobs.
 */
export function startJobScheduler(
  ctx: ControlPlaneContext,
  periodsMs: Partial<Record<JobName, number>> = {},
): () => Promise<void> {
  const running = new Map<JobName, Promise<unknown>>();
  const tick = (job: JobName) => {
    if (running.has(job)) return;
    const p = runJobNow(ctx, job).finally(() => running.delete(job));
    running.set(job, p);
  };
  const timers = (Object.keys(JOBS) as JobName[]).map((job) => {
    tick(job);
    return setInterval(() => tick(job), periodsMs[job] ?? JOBS[job].everyMs);
  });
  return async () => {
    for (const t of timers) clearInterval(t);
    await Promise.allSettled([...running.values()]);
  };
}
