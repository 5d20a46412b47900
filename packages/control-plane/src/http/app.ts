import { randomUUID } from 'node:crypto';
import {
  type ApiErrorCode,
  AuthTokenRequest,
  ClientPlatform,
  createLogger,
  type Logger,
  productVersion,
  RelayHealthReport,
  RelayStartRequest,
  RelayStopRequest,
} from '@telemy/protocol';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { z } from 'zod';
import { type JwtConfig, signAccessToken } from '../auth/jwt.js';
import { VerifiedTokens } from '../auth/verified-tokens.js';
import { ClientAuthenticator, type ClientAuthResult } from '../cache/client-authenticator.js';
import { RateLimitLeases } from '../cache/rate-limit-leases.js';
import { UserChangeFollower } from '../cache/user-change-follower.js';
import { UserStateCache } from '../cache/user-state-cache.js';
import {
  DEFAULT_HTTP_LIMITS,
  DEFAULT_RATE_LIMITS,
  DEFAULT_TIMERS,
  type HttpLimits,
  type LifecycleTimers,
  type RateLimits,
} from '../config.js';
import type { Db } from '../db/types.js';
import { ApiError, DATABASE_RETRY_AFTER_SECONDS, errorEnvelope, retryAfterOf, STATUS_OF } from '../errors.js';
import { sha256Hex } from '../ids.js';
import { type ControlPlaneMetrics, createMetrics } from '../metrics.js';
import type { RelayProvider } from '../providers/types.js';
import { BackgroundTasks } from '../service/background.js';
import type { ControlPlaneContext } from '../service/context.js';
import { RelayService } from '../service/relay-service.js';
import { hitRateLimit, type RateLimitDecision, rateLimitDecision } from '../store/rate-limits.js';
import { consumedSecondsAt } from '../store/usage.js';
import { useApiKey } from '../store/users.js';
import { BodyTimeoutError, bodyPending, bodyTimeoutHooks } from './body-timeout.js';
import { DatabaseOutage, watchDatabase } from './database-outage.js';
import { LazyChildLogger } from './lazy-child-logger.js';
import { buildOpenApi } from './openapi.js';
import { answerUnmetExpectation, clientErrorHandler, limitConnectionsPerAddress } from './transport.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

export interface ControlPlaneOptions {
  db: Db;
  provider: RelayProvider;
  /** Required when the API routes are served. */
  jwt?: JwtConfig;
  /** false: only /healthz, /readyz and /metrics (a `--role jobs` worker). Default true. */
  serveApi?: boolean;
  clock?: () => number;
  limits?: Partial<RateLimits>;
  timers?: Partial<LifecycleTimers>;
  /** Body and header timeouts, connections per client address (`DEFAULT_HTTP_LIMITS`). */
  http?: Partial<HttpLimits>;
  /** URL relays post health to; defaults to `http://127.0.0.1:8080`. */
  publicUrl?: string;
  /** Region picked for `region_preference: "auto"` (else the first manifest region). */
  defaultRegion?: string;
  /** Clients older than this get 403 `client_too_old`. */
  minClientVersion?: string;
  logger?: Logger;
  metrics?: ControlPlaneMetrics;
  /**
   * Answer client requests from the per-process user cache when it is current (default true). Off,
   * every client request reads the database (the bench compares both).
   */
  userCache?: boolean;
  /** Called with the number of requests each hot-path statement served (the bench's batch sizes). */
  onAuthStatement?: (requests: number) => void;
}

export interface ControlPlaneHandle {
  ctx: ControlPlaneContext;
  service: RelayService;
  limits: RateLimits;
  /** Enabled while the process follows the database's user changes (`UserChangeFollower`). */
  userCache: UserStateCache;
}

export type ControlPlaneApp = FastifyInstance & { cp: ControlPlaneHandle };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const res = schema.safeParse(body);
  if (res.success) return res.data;
  const first = res.error.issues[0];
  throw new ApiError(
    'invalid_request',
    `invalid request body: ${first?.path.join('.') || 'body'}: ${first?.message}`,
    {
      field: first?.path.join('.') ?? '',
      issues: res.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    },
  );
}

function versionBelow(v: string, min: string): boolean {
  const a = v.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
}

/**
 * The error envelope, with the status of its code (`STATUS_OF`). Also sets `x-request-id` (fastify's
 * bad-URL path runs no hooks), `Retry-After` from `details.retry_after_seconds`, and closes the
 * connection when part of the request body is still on the wire.
 */
function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  code: ApiErrorCode,
  message: string,
  details: Record<string, unknown> = {},
) {
  const retryAfter = retryAfterOf(details);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  if (bodyPending(req.raw)) reply.header('connection', 'close');
  return reply
    .code(STATUS_OF[code])
    .header('x-request-id', req.id)
    .type('application/json')
    .send(errorEnvelope(code, message, req.id, details));
}

function requestIdOf(raw: { headers: Record<string, string | string[] | undefined> }): string {
  const v = raw.headers['x-request-id'];
  const given = Array.isArray(v) ? v[0] : v;
  return given && UUID.test(given) ? given : randomUUID();
}

/**
 * The control plane HTTP API as a fastify app: embed it in-process,
 * `inject` into it in tests, or `listen` on a port. It does not own the database or the provider.
 */
export async function createControlPlane(opts: ControlPlaneOptions): Promise<ControlPlaneApp> {
  const clock = opts.clock ?? Date.now;
  const log = opts.logger ?? createLogger('control-plane');
  const httpLimits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.http };
  // Every database call of this process reports to the outage tracker (one log line per outage;
  // requests that fail for want of the database get 503).
  const outage = new DatabaseOutage(log);
  const db = watchDatabase(opts.db, outage);
  const metrics = opts.metrics ?? createMetrics(db);
  const limits: RateLimits = { ...DEFAULT_RATE_LIMITS, ...opts.limits };
  const tasks = new BackgroundTasks((err) =>
    log.error({ err: (err as Error).message }, 'background task failed'),
  );
  const userCache = new UserStateCache(clock);
  const ctx: ControlPlaneContext = {
    db,
    provider: opts.provider,
    clock,
    timers: { ...DEFAULT_TIMERS, ...opts.timers },
    metrics,
    log,
    publicUrl: opts.publicUrl ?? 'http://127.0.0.1:8080',
    tasks,
    userChanged: (userId) => userCache.invalidate(userId),
  };
  const service = new RelayService(ctx, opts.defaultRegion);
  const serveApi = opts.serveApi ?? true;
  const jwt = opts.jwt;
  if (serveApi && !jwt) throw new Error('the control plane API needs a JWT configuration');
  const authenticated = new WeakMap<FastifyRequest, ClientAuthResult>();
  const tokens = jwt ? new VerifiedTokens(jwt) : null;
  // Every client request's user state and rate-limit count: from memory when the user is cached and
  // the bucket holds a leased count, else one statement for all requests that queued meanwhile.
  const fromMemory = metrics.clientAuth.labels('memory');
  const fromDatabase = metrics.clientAuth.labels('database');
  const authenticator = new ClientAuthenticator(db, userCache, new RateLimitLeases(), (source, n) => {
    if (source === 'memory') return fromMemory.inc(n);
    fromDatabase.inc(n);
    opts.onAuthStatement?.(n);
  });
  const follower =
    serveApi && (opts.userCache ?? true)
      ? new UserChangeFollower(db, userCache, log, (on) => metrics.userCacheEnabled.set(on ? 1 : 0))
      : null;
  await follower?.start();
  const openapi = buildOpenApi();

  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, childOpts) => new LazyChildLogger(logger, bindings, childOpts),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdOf,
    http: {
      headersTimeout: httpLimits.headersTimeoutMs,
      // Node looks for expired headers this often (its default, 30 s, would let them run 50 % over).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(httpLimits.headersTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(httpLimits.headersTimeoutMs, (status) => rejected(status)),
    frameworkErrors: (err, req, reply) => {
      if (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return sendError(req, reply, 'invalid_request', 'the URL is not valid (bad percent-encoding?)', {
          field: 'url',
        });
      }
      log.error({ reqId: req.id, err: err.message }, 'unhandled error');
      return sendError(req, reply, 'internal_error', 'internal error');
    },
  });
  /** Counts what the server refused below fastify (no route, no method). */
  const rejected = (status: number) =>
    metrics.httpRequests.inc({ route: 'rejected', method: 'unknown', status: String(status) });
  limitConnectionsPerAddress(app.server, httpLimits.maxConnectionsPerAddress, rejected);
  app.server.on('checkExpectation', (req, res) => answerUnmetExpectation(req, res, requestIdOf, rejected));
  const bodyTimeout = bodyTimeoutHooks(httpLimits.bodyTimeoutMs);
  app.addHook('onRequest', bodyTimeout.onRequest);
  app.addHook('preParsing', bodyTimeout.preParsing);

  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
  app.setErrorHandler((err, req, reply) => {
    if (outage.explains(err)) {
      // Logged once per outage by the tracker, not once per request.
      return sendError(req, reply, 'unavailable', 'the database is not reachable', {
        retry_after_seconds: DATABASE_RETRY_AFTER_SECONDS,
      });
    }
    if (err instanceof ApiError) {
      if (err.status >= 500 && !(err.code === 'unavailable' && outage.down)) {
        log.error({ reqId: req.id, code: err.code }, err.message);
      }
      return sendError(req, reply, err.code, err.message, err.details);
    }
    if (err instanceof BodyTimeoutError) {
      return sendError(req, reply, 'request_timeout', err.message, { timeout_seconds: err.timeoutMs / 1000 });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(
        req,
        reply,
        'payload_too_large',
        `request body is larger than ${BODY_LIMIT_BYTES} bytes`,
        {
          limit_bytes: BODY_LIMIT_BYTES,
        },
      );
    }
    if (e.statusCode === 415 || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendError(
        req,
        reply,
        'invalid_request',
        'the body must be JSON (Content-Type: application/json)',
        {
          field: 'content-type',
        },
      );
    }
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(req, reply, 'invalid_request', 'malformed request body: not valid JSON', {
        field: 'body',
      });
    }
    log.error({ reqId: req.id, err: e.message }, 'unhandled error');
    return sendError(req, reply, 'internal_error', 'internal error');
  });

  /** Per client route: which per-user limit applies (docs/reference/api.md, "Rate limits"). */
  const CLIENT_LIMITS: Record<string, keyof RateLimits> = {
    '/api/v1/relay/start': 'start',
    '/api/v1/relay/stop': 'stop',
    '/api/v1/relay/active': 'active',
    '/api/v1/usage/current': 'usage',
  };

  const applyLimit = (req: FastifyRequest, reply: FastifyReply, d: RateLimitDecision) => {
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
  };

  /**
   * Client endpoints: the three required headers, a valid access JWT of an existing user, and the
   * route's rate limit (`ClientAuthenticator`: from memory, or one batched database round trip).
   */
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
    const now = clock();
    const sub = m?.[1] && tokens ? await tokens.verify(m[1], now) : null;
    const limitName = CLIENT_LIMITS[req.routeOptions.url ?? ''];
    const found = sub
      ? await authenticator.authenticate({
          userId: sub,
          limit: limitName ? { bucket: `${limitName}:${sub}`, max: limits[limitName] } : null,
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
    if (opts.minClientVersion && versionBelow(version, opts.minClientVersion)) {
      throw new ApiError(
        'forbidden',
        `client version ${version} is below the minimum ${opts.minClientVersion}`,
        {
          reason: 'client_too_old',
          min_version: opts.minClientVersion,
        },
      );
    }
    authenticated.set(req, found);
    if (limitName && found.position !== null)
      applyLimit(req, reply, rateLimitDecision(found.position, limits[limitName], now));
  };

  const authOf = (req: FastifyRequest) => {
    const a = authenticated.get(req);
    if (!a) throw new ApiError('unauthorized', 'not authenticated');
    return a;
  };

  const version = productVersion();
  app.get('/healthz', async () => ({ status: 'ok', version }));
  app.get('/readyz', async () => {
    try {
      await db.query('SELECT 1');
    } catch {
      throw new ApiError('unavailable', 'the database is not reachable', {
        retry_after_seconds: DATABASE_RETRY_AFTER_SECONDS,
      });
    }
    return { status: 'ready' };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.addHook('onClose', async () => {
    await follower?.stop();
    await tasks.drain();
  });
  app.decorate('cp', { ctx, service, limits, userCache } satisfies ControlPlaneHandle);
  if (!serveApi) return app as unknown as ControlPlaneApp;

  app.get('/api/v1/openapi.json', async () => openapi);

  app.post(
    '/api/v1/auth/token',
    {
      preHandler: async (req, reply) => {
        const key = (req.body as { api_key?: unknown } | undefined)?.api_key;
        const bucket = `authToken:${typeof key === 'string' ? sha256Hex(key).slice(0, 32) : 'invalid'}`;
        applyLimit(req, reply, await hitRateLimit(db, bucket, limits.authToken, clock()));
      },
    },
    async (req) => {
      const body = parseBody(AuthTokenRequest, req.body);
      const userId = await useApiKey(db, body.api_key, new Date(clock()));
      if (!userId) throw new ApiError('unauthorized', 'unknown or revoked API key');
      const { token, expiresAt } = await signAccessToken(jwt!, userId, clock());
      return { cp_access_jwt: token, expires_at: expiresAt.toISOString() };
    },
  );

  app.post('/api/v1/relay/start', { onRequest: authClient }, async (req, reply) => {
    const key = header(req, 'idempotency-key');
    if (!key)
      throw new ApiError('invalid_request', 'missing required header(s): idempotency-key', {
        missing_headers: ['idempotency-key'],
      });
    if (!UUID_V4.test(key))
      throw new ApiError('invalid_request', 'Idempotency-Key must be a UUID v4', {
        field: 'idempotency-key',
      });
    const body = parseBody(RelayStartRequest, req.body);
    const res = await service.start(authOf(req).state.user, key.toLowerCase(), body);
    if (res.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(res.statusCode).send(res.session);
  });

  app.get('/api/v1/relay/active', { onRequest: authClient }, async (req, reply) => {
    const s = service.activeView(authOf(req).state.live);
    return s ? s : reply.code(204).send();
  });

  app.post('/api/v1/relay/stop', { onRequest: authClient }, async (req) => {
    return service.stop(authOf(req).state.user.id, parseBody(RelayStopRequest, req.body));
  });

  app.get('/api/v1/relay/manifest', { onRequest: authClient }, async () => service.manifest());

  app.get('/api/v1/usage/current', { onRequest: authClient }, async (req) => {
    const { state } = authOf(req);
    const nowMs = clock();
    return service.usage(state.user, {
      consumedSeconds: consumedSecondsAt(state.consumed, nowMs),
      at: new Date(nowMs),
    });
  });

  app.post(
    '/api/v1/relay/health',
    {
      onRequest: async (req) => {
        if (!/^Relay\s+rly_\S+$/.test(header(req, 'authorization') ?? '')) {
          throw new ApiError('unauthorized', 'relay endpoints take Authorization: Relay <credential>');
        }
      },
    },
    async (req, reply) => {
      const credential = (header(req, 'authorization') ?? '').replace(/^Relay\s+/, '');
      await service.health(credential, parseBody(RelayHealthReport, req.body));
      return reply.code(204).send();
    },
  );

  return app as unknown as ControlPlaneApp;
}
