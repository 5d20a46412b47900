import type { PlanTier } from '@telemy/protocol';

export interface Plan {
  tier: PlanTier;
  includedSeconds: number;
  /** Whether a session may keep running (and be billed as overage) once the Time Bank is empty. */
  overageAllowed: boolean;
}

/** Monthly Time Bank per tier: starter 15 h, standard 40 h, pro 100 h with overage. */
export const PLANS: Record<PlanTier, Plan> = {
  starter: { tier: 'starter', includedSeconds: 54_000, overageAllowed: false },
  standard: { tier: 'standard', includedSeconds: 144_000, overageAllowed: true },
  pro: { tier: 'pro', includedSeconds: 360_000, overageAllowed: true },
};

export function addMonthsUtc(t: Date, months: number): Date {
  const d = new Date(t.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

/**
 * The billing cycle containing `now`, given the user's stored cycle: stored cycles roll forward by
 * whole months so a user who has not been touched for a while still gets the right window.
 */
export function currentCycle(start: Date, end: Date, now: Date): { start: Date; end: Date } {
  let s = start;
  let e = end;
  let n = 0;
  while (now.getTime() >= e.getTime()) {
    n += 1;
    s = addMonthsUtc(start, n);
    e = addMonthsUtc(start, n + 1);
  }
  return { start: s, end: e };
}
