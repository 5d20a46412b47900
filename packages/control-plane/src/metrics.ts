import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from './db/types.js';

/** Every control-plane instrument (docs/observability.md), on a registry of its own per app. */
export interface ControlPlaneMetrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  httpDuration: Histogram<'route'>;
  provisionTotal: Counter<'provider' | 'region' | 'status'>;
  provisionDuration: Histogram<'provider' | 'region' | 'status'>;
  deprovisionTotal: Counter<'provider' | 'region' | 'status'>;
  deprovisionDuration: Histogram<'provider' | 'region' | 'status'>;
  jobRuns: Counter<'job' | 'status'>;
  jobDuration: Histogram<'job'>;
  idempotencyReplays: Counter;
  rateLimited: Counter<'route'>;
  watchdogActions: Counter<'action'>;
  clientAuth: Counter<'source'>;
  userCacheEnabled: Gauge;
}

export function createMetrics(db?: Db, registry: Registry = new Registry()): ControlPlaneMetrics {
  const registers = [registry];
  const lifecycleBuckets = [0.5, 1, 2, 5, 10, 30, 60, 120, 300];
  const m: ControlPlaneMetrics = {
    registry,
    httpRequests: new Counter({
      name: 'aegis_http_requests_total',
      help: 'HTTP requests served, by route template, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'aegis_http_request_duration_seconds',
      help: 'HTTP request duration by route template.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    provisionTotal: new Counter({
      name: 'aegis_relay_provision_total',
      help: 'Relay provisioning attempts by provider, region and outcome.',
      labelNames: ['provider', 'region', 'status'],
      registers,
    }),
    provisionDuration: new Histogram({
      name: 'aegis_relay_provision_duration_seconds',
      help: 'Time to provision a relay.',
      labelNames: ['provider', 'region', 'status'],
      buckets: lifecycleBuckets,
      registers,
    }),
    deprovisionTotal: new Counter({
      name: 'aegis_relay_deprovision_total',
      help: 'Relay deprovisioning attempts by provider, region and outcome.',
      labelNames: ['provider', 'region', 'status'],
      registers,
    }),
    deprovisionDuration: new Histogram({
      name: 'aegis_relay_deprovision_duration_seconds',
      help: 'Time to deprovision a relay.',
      labelNames: ['provider', 'region', 'status'],
      buckets: lifecycleBuckets,
      registers,
    }),
    jobRuns: new Counter({
      name: 'aegis_job_runs_total',
      help: 'Background job runs by job and outcome (ok, error, skipped when another worker holds the lock).',
      labelNames: ['job', 'status'],
      registers,
    }),
    jobDuration: new Histogram({
      name: 'aegis_job_duration_seconds',
      help: 'Background job run time.',
      labelNames: ['job'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    idempotencyReplays: new Counter({
      name: 'aegis_idempotency_replays_total',
      help: 'POST /relay/start requests answered from an idempotency record.',
      registers,
    }),
    rateLimited: new Counter({
      name: 'aegis_rate_limited_total',
      help: 'Requests refused with 429, by route.',
      labelNames: ['route'],
      registers,
    }),
    watchdogActions: new Counter({
      name: 'aegis_watchdog_actions_total',
      help: 'Corrective actions taken by the watchdog job.',
      labelNames: ['action'],
      registers,
    }),
    clientAuth: new Counter({
      name: 'aegis_client_auth_total',
      help: 'Client requests authenticated from the per-process user cache (memory) or by the hot-path statement (database).',
      labelNames: ['source'],
      registers,
    }),
    userCacheEnabled: new Gauge({
      name: 'aegis_user_cache_enabled',
      help: '1 while this process follows user changes and serves client requests from its user cache.',
      registers,
    }),
  };
  new Gauge({
    name: 'aegis_sessions',
    help: 'Sessions in the database by status.',
    labelNames: ['status'],
    registers,
    async collect() {
      if (!db) return;
      this.reset();
      for (const s of ['provisioning', 'active', 'grace', 'stopped']) this.set({ status: s }, 0);
      try {
        const res = await db.query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM sessions GROUP BY status',
        );
        for (const r of res.rows) this.set({ status: r.status }, r.n);
      } catch {
        // A scrape while the database is unreachable reports zeros; /readyz says why.
      }
    },
  });
  return m;
}
