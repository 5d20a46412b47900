import { createLogger, type Logger } from '@telemy/protocol';
import { jwtConfigFromEnv } from './auth/jwt.js';
import { parseHttpLimits, parseRateLimits } from './config.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import type { Db } from './db/types.js';
import { type ControlPlaneApp, type ControlPlaneOptions, createControlPlane } from './http/app.js';
import type { JobName } from './jobs/run-job.js';
import { startJobScheduler } from './jobs/scheduler.js';
import { createMetrics } from './metrics.js';
import { createRelayProvider } from './providers/registry.js';
import type { RelayManifestEntry, RelayProvider } from './providers/types.js';

export type ControlPlaneRole = 'all' | 'api' | 'jobs';

export interface RunControlPlaneOptions {
  role: ControlPlaneRole;
  port: number;
  host: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Overrides for tests and embedding (provider, clock, limits, timers…). */
  overrides?: Partial<ControlPlaneOptions>;
  /** Job periods other than the defaults of `JOBS` (embedding with short test timings). */
  jobPeriodsMs?: Partial<Record<JobName, number>>;
}

export interface RunningControlPlane {
  app: ControlPlaneApp;
  db: Db;
  url: string;
  close(): Promise<void>;
}

/** Inserts the provider's built-in regions (existing rows, e.g. set by an operator, are kept). */
export async function seedManifest(db: Db, entries: readonly RelayManifestEntry[], now: Date): Promise<void> {
  for (const e of entries) {
    await db.query(
      `INSERT INTO relay_manifests (region, image_id, default_instance_type, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (region) DO NOTHING`,
      [e.region, e.image_id, e.default_instance_type, now],
    );
  }
}

/**
 * `telemy control-plane`: opens the store (PostgreSQL or PGlite), migrates it, and serves the API
 * (`api`), the jobs (`jobs`) or both (`all`); every role serves /healthz, /readyz and /metrics.
 */
export async function runControlPlane(o: RunControlPlaneOptions): Promise<RunningControlPlane> {
  const env = o.env ?? process.env;
  const log = o.logger ?? createLogger('control-plane');
  const limits = parseRateLimits(env.TELEMY_CP_RATE_LIMITS);
  const http = parseHttpLimits(env);
  const db = await openDatabase(env);
  try {
    await migrate(db);
    const metrics = createMetrics(db);
    const serveApi = o.role !== 'jobs';
    const jwt = serveApi ? (o.overrides?.jwt ?? (await jwtConfigFromEnv(env))) : undefined;
    const provider: RelayProvider =
      o.overrides?.provider ??
      (await createRelayProvider(env.TELEMY_RELAY_PROVIDER || 'local', {
        env,
        log,
        registry: metrics.registry,
      }));
    if (provider.defaultManifest) await seedManifest(db, provider.defaultManifest, new Date());
    const app = await createControlPlane({
      db,
      provider,
      jwt,
      metrics,
      logger: log,
      serveApi,
      limits,
      http,
      publicUrl: env.TELEMY_PUBLIC_URL || `http://127.0.0.1:${o.port || 8080}`,
      ...o.overrides,
    });
    const address = await app.listen({ port: o.port, host: o.host });
    const url = address.replace('[::]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1');
    const stopJobs = o.role === 'api' ? null : startJobScheduler(app.cp.ctx, o.jobPeriodsMs);
    return {
      app,
      db,
      url,
      async close() {
        await stopJobs?.();
        await app.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
