/** Exponential backoff with jitter, shared by the control-plane client and the telemetry reconnects. */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): `base * 2^attempt` capped at `max`, then
 * "equal jitter" (half fixed, half random) so that many engines restarting together spread out but
 * none retries at once. `random` returns [0, 1).
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt));
  const half = exp / 2;
  return Math.round(half + half * random());
}
