/**
 * Capped exponential backoff: the one formula behind every retry, reconnect and restart delay in
 * Telemy (OBS, IPC, chat, the control plane and its relays, the dock's socket). No Node imports: the
 * dock uses it in the browser.
 */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): `base · 2^attempt` capped at `max`. With
 * `random` (returning [0, 1)), "equal jitter": half of it fixed, half random, so that many clients
 * failing together spread out but none retries at once.
 */
export function backoffMs(policy: BackoffPolicy, attempt: number, random?: () => number): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  if (!random) return exp;
  const half = exp / 2;
  return Math.round(half + half * random());
}
