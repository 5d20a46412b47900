import { type BackoffPolicy, backoffMs } from '@telemy/protocol';

/**
 * When a chat access token is refreshed, and what a failed refresh means. Pure: the clock and the
 * jitter come in as arguments, so every rule is tested without timers.
 */

/** Refresh this long before expiry at most; a short-lived token is refreshed at 80 % of its lifetime. */
export const REFRESH_MARGIN_MS = 60_000;
const SHORT_LIFETIME_SHARE = 0.2;

/** Retries of a refresh that failed for a passing reason (network, 5xx, rate limit). */
export const REFRESH_RETRY: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/** When to refresh a token obtained at `obtainedAt` that expires at `expiresAt`. */
export function refreshDueAt(obtainedAt: number, expiresAt: number): number {
  const lifetime = Math.max(0, expiresAt - obtainedAt);
  return expiresAt - Math.min(REFRESH_MARGIN_MS, lifetime * SHORT_LIFETIME_SHARE);
}

/** Milliseconds from `now` until the refresh is due (0: now). */
export function msUntilRefresh(obtainedAt: number, expiresAt: number, now: number): number {
  return Math.max(0, refreshDueAt(obtainedAt, expiresAt) - now);
}

/** Delay before retry number `attempt` (0 = first) of a refresh that failed for a passing reason. */
export function refreshRetryMs(attempt: number, random: () => number): number {
  return backoffMs(REFRESH_RETRY, attempt, random);
}

/**
 * - `revoked`: the platform refused the refresh token itself (OAuth `invalid_grant`, Twitch's
 *   "Invalid refresh token"): only a new sign-in helps, so no retry.
 * - `client`: the app's client id or secret was refused: a config problem, also no retry.
 * - `transient`: no answer, a server error or a rate limit: retried with backoff.
 */
export type RefreshFailure = 'revoked' | 'client' | 'transient';

/** Classifies a token endpoint's refusal of a refresh (status null: no answer at all). */
export function classifyRefreshFailure(status: number | null, body: unknown): RefreshFailure {
  if (status === null || status >= 500 || status === 408 || status === 429) return 'transient';
  const b = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const error = typeof b.error === 'string' ? b.error : '';
  const message = typeof b.message === 'string' ? b.message : '';
  if (error === 'invalid_client' || error === 'unauthorized_client' || /invalid client/i.test(message))
    return 'client';
  // Any other refusal of a refresh_token grant means this grant is unusable: invalid_grant first.
  return 'revoked';
}
