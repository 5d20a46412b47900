import { createRequire } from 'node:module';
import type { Logger } from '@telemy/protocol';
import type { FastifyInstance } from 'fastify';
import type { TelemyConfig } from './config/index.js';
import { EngineMetrics } from './export/metrics.js';
import { MetricsHub } from './obs/metrics-hub.js';
import { ObsLink } from './obs/obs-link.js';
import { createEngineServer } from './server/server.js';
import { SystemMetrics } from './system/system-metrics.js';
import { LOCAL_ACCESS_TOKEN_KEY, type Vault } from './vault/index.js';

export const ENGINE_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

export interface EngineOptions {
  config: TelemyConfig;
  configPath: string | null;
  vault: Vault;
  logger: Logger;
  /** Built dock files to serve at `/`, when available. */
  dockDir?: string | null;
  now?: () => number;
}

export interface EngineUrls {
  dashboard: string;
  dashboardWithToken: string;
  metrics: string;
}

/**
 * The engine process: owns the OBS link, the metrics hub, host metrics and the local server, and
 * wires subsystems together. Construction does no I/O; `start()` brings everything up and never
 * fails because OBS is absent (the link keeps retrying and the state says so).
 */
export class Engine {
  readonly metrics = new EngineMetrics();
  readonly obs: ObsLink;
  readonly hub: MetricsHub;
  readonly system: SystemMetrics;
  private server: FastifyInstance | null = null;
  private token = '';
  private readonly startedAt: number;
  private readonly now: () => number;

  constructor(private readonly opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    const { config, logger } = opts;
    const password = opts.vault.get(config.obs.password_key);
    this.obs = new ObsLink({
      host: config.obs.host,
      port: config.obs.port,
      password,
      logger: logger.child({ component: 'obs' }),
      metrics: this.metrics,
    });
    this.system = new SystemMetrics({ metrics: this.metrics, logger: logger.child({ component: 'system' }) });
    this.hub = new MetricsHub({
      link: this.obs,
      metrics: this.metrics,
      logger: logger.child({ component: 'metrics' }),
      outputs: config.outputs,
      system: this.system,
      intervalMs: config.failover.sample_interval_ms,
    });
  }

  async start(): Promise<EngineUrls> {
    const { config, logger, vault } = this.opts;
    this.token = vault.getOrCreate(LOCAL_ACCESS_TOKEN_KEY).value;
    const server = await createEngineServer({
      host: config.server.lan_access ? '0.0.0.0' : config.server.host,
      port: config.server.port,
      lanAccess: config.server.lan_access,
      token: this.token,
      logger,
      registry: this.metrics.registry,
      dockDir: this.opts.dockDir ?? null,
    });
    server.get('/api/state', async () => this.state());
    this.server = server;
    await server.listen({
      host: config.server.lan_access ? '0.0.0.0' : config.server.host,
      port: config.server.port,
    });
    this.obs.start();
    this.hub.start();
    return this.urls();
  }

  urls(): EngineUrls {
    const { host, port } = this.opts.config.server;
    const base = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    return {
      dashboard: `${base}/`,
      dashboardWithToken: `${base}/?token=${this.token}`,
      metrics: `${base}/metrics`,
    };
  }

  /** `GET /api/state`: everything the engine knows, as plain JSON (no secrets). */
  state(): Record<string, unknown> {
    return {
      engine: {
        version: ENGINE_VERSION,
        started_at: new Date(this.startedAt).toISOString(),
        uptime_s: Math.round((this.now() - this.startedAt) / 1000),
      },
      obs: this.obs.state(),
      metrics: this.hub.snapshot(),
    };
  }

  async stop(): Promise<void> {
    this.hub.stop();
    await this.obs.stop();
    await this.server?.close();
    this.server = null;
  }
}
