import type { ControlPlaneContext } from '../service/context.js';

export const JOB_NAMES = [
  'idempotency_cleanup',
  'usage_rollup',
  'outage_reconciliation',
  'watchdog',
  'health_retention',
  'provisioning_recovery',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** One advisory lock per job: two workers (or replicas) never run the same job at once. */
export const JOB_LOCK_KEYS: Record<JobName, number> = {
  idempotency_cleanup: 7_400_101,
  usage_rollup: 7_400_102,
  outage_reconciliation: 7_400_103,
  watchdog: 7_400_104,
  health_retention: 7_400_105,
  provisioning_recovery: 7_400_106,
};

export type JobOutcome<T> =
  | { status: 'ok'; result: T }
  | { status: 'skipped' }
  | { status: 'error'; error: string };

/** Runs a job under its advisory lock, counting and timing it; never throws. */
export async function runJob<T>(
  ctx: ControlPlaneContext,
  job: JobName,
  fn: () => Promise<T>,
): Promise<JobOutcome<T>> {
  const t0 = performance.now();
  try {
    const res = await ctx.db.withAdvisoryLock(JOB_LOCK_KEYS[job], fn);
    if (!res.acquired) {
      ctx.metrics.jobRuns.inc({ job, status: 'skipped' });
      return { status: 'skipped' };
    }
    ctx.metrics.jobRuns.inc({ job, status: 'ok' });
    return { status: 'ok', result: res.value };
  } catch (err) {
    ctx.metrics.jobRuns.inc({ job, status: 'error' });
    ctx.log.error({ job, err: (err as Error).message }, 'job failed');
    return { status: 'error', error: (err as Error).message };
  } finally {
    ctx.metrics.jobDuration.observe({ job }, (performance.now() - t0) / 1000);
  }
}
