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
  /**
   * A launch's owner renews its lease every quarter of this; a lease this old belongs to no live
   * process, and the `provisioning_recovery` job takes the launch over.
   */
  provisioningLeaseSeconds: number;
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
  provisioningLeaseSeconds: 12,
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

/** What the HTTP server allows a client before it answers 408 or refuses it (`createControlPlane`). */
export interface HttpLimits {
  /**
   * A request body must have arrived this long after its headers; else 408 `request_timeout` (in the
   * envelope) and the connection is closed.
   */
  bodyTimeoutMs: number;
  /**
   * A request's headers must have arrived this long after its first byte (Node's `headersTimeout`;
   * a connection that sends nothing at all is closed after it too); else 408 and the connection is
   * closed.
   */
  headersTimeoutMs: number;
  /**
   * Open connections per client address (0: no limit). One more is answered 503 `unavailable`
   * (`details.reason: too_many_connections`, `Retry-After`) and closed. Behind a proxy or load
   * balancer every client shares its address: raise this above its upstream connections, or set 0.
   */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  bodyTimeoutMs: 10_000,
  headersTimeoutMs: 60_000,
  maxConnectionsPerAddress: 64,
};

function nonNegativeInteger(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: "${raw}" is not an integer ≥ ${min}`);
  return n;
}

/**
 * `TELEMY_CP_BODY_TIMEOUT_SECONDS` (10), `TELEMY_CP_HEADERS_TIMEOUT_SECONDS` (60) and
 * `TELEMY_CP_MAX_CONNECTIONS_PER_IP` (64; 0 turns the limit off).
 */
export function parseHttpLimits(env: NodeJS.ProcessEnv): HttpLimits {
  const body = nonNegativeInteger(env, 'TELEMY_CP_BODY_TIMEOUT_SECONDS', 1);
  const headers = nonNegativeInteger(env, 'TELEMY_CP_HEADERS_TIMEOUT_SECONDS', 1);
  const perIp = nonNegativeInteger(env, 'TELEMY_CP_MAX_CONNECTIONS_PER_IP', 0);
  return {
    bodyTimeoutMs: body === undefined ? DEFAULT_HTTP_LIMITS.bodyTimeoutMs : body * 1000,
    headersTimeoutMs: headers === undefined ? DEFAULT_HTTP_LIMITS.headersTimeoutMs : headers * 1000,
    maxConnectionsPerAddress: perIp ?? DEFAULT_HTTP_LIMITS.maxConnectionsPerAddress,
  };
}
