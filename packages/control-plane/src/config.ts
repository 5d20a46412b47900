/** Requests per user per minute (auth/token: per API key). */
export interface RateLimits {
  start: number;
  stop: number;
  active: number;
  usage: number;
  authToken: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { start: 6, stop: 20, active: 60, usage: 30, authToken: 10 };

/** Timers of the session lifecycle and the jobs, in seconds. */
export interface LifecycleTimers {
  provisioningTimeoutSeconds: number;
  graceWindowSeconds: number;
  maxSessionSeconds: number;
  /** No health report for this long puts an active session into grace. */
  healthSilenceGraceSeconds: number;
  /** No health report for this long stops the session and marks the instance `error`. */
  healthLostSeconds: number;
  idempotencyTtlSeconds: number;
  healthRetentionSeconds: number;
}

export const DEFAULT_TIMERS: LifecycleTimers = {
  provisioningTimeoutSeconds: 300,
  graceWindowSeconds: 600,
  maxSessionSeconds: 57_600,
  healthSilenceGraceSeconds: 30,
  healthLostSeconds: 180,
  idempotencyTtlSeconds: 3600,
  healthRetentionSeconds: 30 * 86_400,
};

const LIMIT_NAMES: Record<string, keyof RateLimits> = {
  start: 'start',
  stop: 'stop',
  active: 'active',
  usage: 'usage',
  auth_token: 'authToken',
};

/** Parses `TELEMY_CP_RATE_LIMITS`, e.g. `start=6,stop=20,auth_token=10` (unnamed limits keep their default). */
export function parseRateLimits(spec: string | undefined): RateLimits {
  const limits = { ...DEFAULT_RATE_LIMITS };
  if (!spec) return limits;
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, value] = part.split('=').map((x) => x.trim());
    const key = name ? LIMIT_NAMES[name] : undefined;
    const n = Number(value);
    if (!key || !Number.isInteger(n) || n < 1) {
      throw new Error(
        `TELEMY_CP_RATE_LIMITS: "${part}" is not <name>=<requests per minute> with name one of ${Object.keys(LIMIT_NAMES).join(', ')}`,
      );
    }
    limits[key] = n;
  }
  return limits;
}
