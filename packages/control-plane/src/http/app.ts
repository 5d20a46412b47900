import { randomUUID } from 'node:crypto';
import { createLogger, type Logger } from '@telemy/protocol';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { JwtConfig } from '../auth/jwt.js';
import { VerifiedTokens } from '../auth/verified-tokens.js';
import { ClientAuthenticator } from '../cache/client-authenticator.js';
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
import { type ControlPlaneMetrics, createMetrics } from '../metrics.js';
import type { RelayProvider } from '../providers/types.js';
import { BackgroundTasks } from '../service/background.js';
import type { ControlPlaneContext } from '../service/context.js';
import { RelayService } from '../service/relay-service.js';
import { routeAuth } from './auth.js';
import { bodyTimeout } from './body-timeout.js';
import { DatabaseOutage, watchDatabase } from './database-outage.js';
import { BODY_LIMIT_BYTES, errorHandling, frameworkErrors } from './errors.js';
import { LazyChildLogger } from './lazy-child-logger.js';
import { openApi } from './openapi.js';
import { requestMetrics } from './request-metrics.js';
import { authTokenRoute } from './routes/auth-token.js';
import { healthRoutes } from './routes/health.js';
import { openApiDocumentRoute } from './routes/openapi-document.js';
import { relayCallbackRoutes } from './routes/relay-callbacks.js';
import { sessionRoutes } from './routes/sessions.js';
import { usageRoutes } from './routes/usage.js';
import { answerUnmetExpectation, clientErrorHandler, limitConnectionsPerAddress } from './transport.js';

export { BODY_LIMIT_BYTES };

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

function requestIdOf(raw: { headers: Record<string, string | string[] | undefined> }): string {
  const v = raw.headers['x-request-id'];
  const given = Array.isArray(v) ? v[0] : v;
  return given && UUID.test(given) ? given : randomUUID();
}

/** What the routes work with, and the user cache's follower, which runs while the API serves. */
function buildHandle(opts: ControlPlaneOptions, log: Logger, outage: DatabaseOutage) {
  const clock = opts.clock ?? Date.now;
  // Every database call of this process reports to the outage tracker (one log line per outage;
  // requests that fail for want of the database get 503).
  const db = watchDatabase(opts.db, outage);
  const metrics = opts.metrics ?? createMetrics(db);
  const userCache = new UserStateCache(clock);
  const ctx: ControlPlaneContext = {
    db,
    provider: opts.provider,
    clock,
    timers: { ...DEFAULT_TIMERS, ...opts.timers },
    metrics,
    log,
    publicUrl: opts.publicUrl ?? 'http://127.0.0.1:8080',
    tasks: new BackgroundTasks((err) => log.error({ err: (err as Error).message }, 'background task failed')),
    userChanged: (userId) => userCache.invalidate(userId),
  };
  const handle: ControlPlaneHandle = {
    ctx,
    service: new RelayService(ctx, opts.defaultRegion),
    limits: { ...DEFAULT_RATE_LIMITS, ...opts.limits },
    userCache,
  };
  const follower =
    (opts.serveApi ?? true) && (opts.userCache ?? true)
      ? new UserChangeFollower(db, userCache, log, (on) => metrics.userCacheEnabled.set(on ? 1 : 0))
      : null;
  return { handle, follower };
}

/**
 * Every client request's user state and rate-limit count: from memory when the user is cached and
 * the bucket holds a leased count, else one statement for all requests that queued meanwhile.
 */
function clientAuthenticator(opts: ControlPlaneOptions, { ctx, userCache }: ControlPlaneHandle) {
  const fromMemory = ctx.metrics.clientAuth.labels('memory');
  const fromDatabase = ctx.metrics.clientAuth.labels('database');
  return new ClientAuthenticator(ctx.db, userCache, new RateLimitLeases(), (source, n) => {
    if (source === 'memory') return fromMemory.inc(n);
    fromDatabase.inc(n);
    opts.onAuthStatement?.(n);
  });
}

/** The fastify server with what the control plane asks of HTTP below the routes (`HttpLimits`). */
function createServer(log: Logger, limits: HttpLimits, metrics: ControlPlaneMetrics) {
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, childOpts) => new LazyChildLogger(logger, bindings, childOpts),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestIdOf,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // Node looks for expired headers this often (its default, 30 s, would let them run 50 % over).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(limits.headersTimeoutMs, (status) => rejected(status)),
    frameworkErrors: frameworkErrors(log),
  });
  /** Counts what the server refused below fastify (no route, no method). */
  const rejected = (status: number) =>
    metrics.httpRequests.inc({ route: 'rejected', method: 'unknown', status: String(status) });
  limitConnectionsPerAddress(app.server, limits.maxConnectionsPerAddress, rejected);
  app.server.on('checkExpectation', (req, res) => answerUnmetExpectation(req, res, requestIdOf, rejected));
  return app;
}

/**
 * The control plane HTTP API as a fastify app: embed it in-process,
 * `inject` into it in tests, or `listen` on a port. It does not own the database or the provider.
 */
export async function createControlPlane(opts: ControlPlaneOptions): Promise<ControlPlaneApp> {
  const log = opts.logger ?? createLogger('control-plane');
  const serveApi = opts.serveApi ?? true;
  const jwt = opts.jwt;
  if (serveApi && !jwt) throw new Error('the control plane API needs a JWT configuration');
  const outage = new DatabaseOutage(log);
  const { handle, follower } = buildHandle(opts, log, outage);
  const { ctx, service, limits } = handle;
  const { db, metrics, clock } = ctx;
  await follower?.start();

  const httpLimits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.http };
  const app = createServer(log, httpLimits, metrics);
  await app.register(bodyTimeout, { timeoutMs: httpLimits.bodyTimeoutMs });
  await app.register(requestMetrics, { metrics });
  await app.register(errorHandling, { outage, log });
  await app.register(openApi);
  await app.register(healthRoutes, { db, metrics });
  app.addHook('onClose', async () => {
    await follower?.stop();
    await ctx.tasks.drain();
  });
  app.decorate('cp', handle);
  if (serveApi && jwt) {
    const authenticator = clientAuthenticator(opts, handle);
    const { minClientVersion } = opts;
    await app.register(routeAuth, {
      tokens: new VerifiedTokens(jwt),
      authenticator,
      limits,
      metrics,
      clock,
      minClientVersion,
    });
    await app.register(openApiDocumentRoute);
    await app.register(authTokenRoute, { db, jwt, limits, metrics, clock });
    await app.register(sessionRoutes, { service });
    await app.register(usageRoutes, { service, clock });
    await app.register(relayCallbackRoutes, { service });
  }
  return app as unknown as ControlPlaneApp;
}
