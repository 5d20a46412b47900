import { ClientPlatform } from '@telemy/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VerifiedTokens } from '../auth/verified-tokens.js';
import type { ClientAuthenticator, ClientAuthResult } from '../cache/client-authenticator.js';
import type { RateLimits } from '../config.js';
import { ApiError } from '../errors.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import { type RateLimitDecision, rateLimitDecision } from '../store/rate-limits.js';
import { appWide } from './plugin.js';

/** Who may call a route: an engine with its access JWT, or a relay agent with its credential. */
export type RouteAuth = 'client' | 'relay';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Unset: anyone (health, metrics, the token exchange). */
    auth?: RouteAuth;
    /** The per-user rate limit of a client route (docs/reference/api.md, "Rate limits"). */
    limit?: keyof RateLimits;
    /** The route requires `Idempotency-Key` (a UUID v4). */
    idempotencyKey?: boolean;
  }
  interface FastifyRequest {
    /** The caller of a client route, once authenticated. */
    clientAuth: ClientAuthResult | null;
    /** `Idempotency-Key`, lower-cased, on routes that require it. */
    idempotencyKey: string;
  }
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function versionBelow(v: string, min: string): boolean {
  const a = v.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
}

/** Sets the `X-RateLimit-*` headers; a refused request is 429 `rate_limited` with `Retry-After`. */
export function applyLimit(
  metrics: ControlPlaneMetrics,
  req: FastifyRequest,
  reply: FastifyReply,
  d: RateLimitDecision,
): void {
  reply.header('x-ratelimit-limit', String(d.limit));
  reply.header('x-ratelimit-remaining', String(d.remaining));
  reply.header('x-ratelimit-reset', String(d.resetSeconds));
  if (!d.allowed) {
    reply.header('retry-after', String(d.resetSeconds));
    metrics.rateLimited.inc({ route: req.routeOptions.url ?? 'unmatched' });
    throw new ApiError('rate_limited', `rate limit of ${d.limit} requests per minute reached`, {
      limit: d.limit,
      retry_after_seconds: d.resetSeconds,
    });
  }
}

export interface AuthOptions {
  tokens: VerifiedTokens;
  authenticator: ClientAuthenticator;
  limits: RateLimits;
  metrics: ControlPlaneMetrics;
  clock: () => number;
  /** Clients older than this get 403 `client_too_old`. */
  minClientVersion?: string;
}

/**
 * Who may call what, from each route's `config.auth`. Client routes need the three client headers,
 * a valid access JWT of an existing user and their rate limit (`ClientAuthenticator`: from memory,
 * or one batched database round trip); relay routes need `Authorization: Relay rly_…`.
 */
export const routeAuth = appWide<AuthOptions>(async (app, o) => {
  app.decorateRequest('clientAuth', null);
  app.decorateRequest('idempotencyKey', '');

  const authClient = async (req: FastifyRequest, reply: FastifyReply) => {
    const required = ['authorization', 'x-aegis-client-version', 'x-aegis-client-platform'];
    const missing = required.filter((h) => !header(req, h));
    if (missing.length > 0) {
      throw new ApiError('invalid_request', `missing required header(s): ${missing.join(', ')}`, {
        missing_headers: missing,
      });
    }
    if (!ClientPlatform.safeParse(header(req, 'x-aegis-client-platform')).success) {
      throw new ApiError('invalid_request', 'X-Aegis-Client-Platform must be windows, macos or linux', {
        field: 'x-aegis-client-platform',
      });
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header(req, 'authorization') ?? '');
    const now = o.clock();
    const sub = m?.[1] ? await o.tokens.verify(m[1], now) : null;
    const limitName = req.routeOptions.config.limit;
    const found = sub
      ? await o.authenticator.authenticate({
          userId: sub,
          limit: limitName ? { bucket: `${limitName}:${sub}`, max: o.limits[limitName] } : null,
          nowMs: now,
        })
      : null;
    if (!found) {
      throw new ApiError(
        'unauthorized',
        'a valid access token (Authorization: Bearer <cp_access_jwt>) is required',
      );
    }
    const version = header(req, 'x-aegis-client-version') ?? '';
    if (o.minClientVersion && versionBelow(version, o.minClientVersion)) {
      throw new ApiError(
        'forbidden',
        `client version ${version} is below the minimum ${o.minClientVersion}`,
        {
          reason: 'client_too_old',
          min_version: o.minClientVersion,
        },
      );
    }
    req.clientAuth = found;
    if (limitName && found.position !== null)
      applyLimit(o.metrics, req, reply, rateLimitDecision(found.position, o.limits[limitName], now));
  };

  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onRequest', (req, reply, done) => {
    const auth = req.routeOptions.config.auth;
    if (auth === 'client') {
      authClient(req, reply).then(() => done(), done);
      return;
    }
    if (auth === 'relay' && !/^Relay\s+rly_\S+$/.test(header(req, 'authorization') ?? '')) {
      return done(new ApiError('unauthorized', 'relay endpoints take Authorization: Relay <credential>'));
    }
    done();
  });

  // After the body arrived and before it is validated: a missing key is named before a body the
  // schema refuses, as it always was.
  app.addHook('preValidation', (req, _reply, done) => {
    if (!req.routeOptions.config.idempotencyKey) return done();
    const key = header(req, 'idempotency-key');
    if (!key) {
      return done(
        new ApiError('invalid_request', 'missing required header(s): idempotency-key', {
          missing_headers: ['idempotency-key'],
        }),
      );
    }
    if (!UUID_V4.test(key)) {
      return done(
        new ApiError('invalid_request', 'Idempotency-Key must be a UUID v4', { field: 'idempotency-key' }),
      );
    }
    req.idempotencyKey = key.toLowerCase();
    done();
  });
});

/** The authenticated caller of a client route. */
export function clientOf(req: FastifyRequest): ClientAuthResult {
  if (!req.clientAuth) throw new ApiError('unauthorized', 'not authenticated');
  return req.clientAuth;
}
