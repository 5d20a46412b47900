import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  type CollectionResult,
  MeterProvider,
  type MetricProducer,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from '@telemy/protocol';
import type { Registry } from 'prom-client';
import type { TelemyConfig } from '../config/index.js';
import type { EngineMetrics } from './metrics.js';
import { type OtlpExportStatus, otlpMetricsUrl, publicEndpoint } from './otlp-status.js';
import { type PromMetric, promToOtlp } from './prom-to-otlp.js';

export const OTLP_SERVICE_NAME = 'telemy-engine';

/**
 * The push's bookkeeping, separate from I/O: each export outcome updates it, and it says whether a
 * failure starts a new streak (logged) or continues one (only counted).
 */
export class OtlpExportTracker {
  private lastSuccess: number | null = null;
  private lastFailure: number | null = null;
  private lastError: string | null = null;
  private failures = 0;
  private streak = 0;

  constructor(private readonly now: () => number) {}

  /** Returns the length of the failure streak that just ended (0 when there was none). */
  success(): number {
    const ended = this.streak;
    this.lastSuccess = this.now();
    this.streak = 0;
    return ended;
  }

  /** Returns true when this failure starts a streak, i.e. the one worth a log line. */
  failure(message: string): boolean {
    this.failures += 1;
    this.streak += 1;
    this.lastFailure = this.now();
    this.lastError = message;
    return this.streak === 1;
  }

  view(): Pick<
    OtlpExportStatus,
    'last_success_at' | 'last_failure_at' | 'last_error' | 'failures_total' | 'consecutive_failures'
  > {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      last_success_at: iso(this.lastSuccess),
      last_failure_at: iso(this.lastFailure),
      last_error: this.lastError,
      failures_total: this.failures,
      consecutive_failures: this.streak,
    };
  }
}

/** A stable `service.instance.id` per data folder: created once, then read back on every start. */
export function loadInstanceId(dataDir: string): string {
  const file = path.join(dataDir, 'instance-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[\w.-]{8,128}$/.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o644 });
  return id;
}

/** Reads the whole prom-client registry at each collection, so OTLP carries exactly what /metrics has. */
class RegistryProducer implements MetricProducer {
  constructor(
    private readonly registry: Registry,
    private readonly startMs: number,
    private readonly now: () => number,
  ) {}

  async collect(): Promise<CollectionResult> {
    // prom-client types `type` as a numeric enum; at run time it is the exposition string.
    const json = (await this.registry.getMetricsAsJSON()) as unknown as PromMetric[];
    return {
      resourceMetrics: {
        resource: resourceFromAttributes({}),
        scopeMetrics: [
          {
            scope: { name: 'telemy-engine/prom-client' },
            metrics: promToOtlp(json, this.startMs, this.now()),
          },
        ],
      },
      errors: [],
    };
  }
}

/** Passes exports through and reports each outcome, so failures are counted instead of vanishing. */
class ObservedExporter implements PushMetricExporter {
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly onResult: (error: Error | null) => void,
  ) {}

  export(...[metrics, done]: Parameters<PushMetricExporter['export']>): void {
    this.inner.export(metrics, (result) => {
      // `code` 0 is ExportResultCode.SUCCESS.
      this.onResult(result.code === 0 ? null : (result.error ?? new Error('export failed')));
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export interface OtlpMetricsPushOptions {
  config: TelemyConfig['otlp'];
  metrics: EngineMetrics;
  /** The `Authorization` header value (from the vault entry `auth_value_key`), or null to send none. */
  authValue: string | null;
  serviceVersion: string;
  /** Folder holding `instance-id` (`telemyPaths().data`). */
  dataDir: string;
  logger: Logger;
  now?: () => number;
}

/**
 * Pushes the engine's registry over OTLP/HTTP (JSON encoding) every `interval_ms` with
 * `service.name`, `service.version` and `service.instance.id`. A failed export increments
 * `telemy_otlp_export_failures_total`, is logged once per failure streak, and never throws.
 */
export class OtlpMetricsPush {
  private readonly tracker: OtlpExportTracker;
  private readonly provider: MeterProvider;
  private readonly reader: PeriodicExportingMetricReader;
  private readonly url: string;
  private stopped = false;

  constructor(private readonly opts: OtlpMetricsPushOptions) {
    const { config, logger } = opts;
    const now = opts.now ?? Date.now;
    if (!config.endpoint) throw new Error('[otlp] endpoint is required when enabled = true');
    this.url = otlpMetricsUrl(config.endpoint);
    this.tracker = new OtlpExportTracker(now);
    const timeout = Math.min(config.interval_ms, 10_000);
    const exporter = new ObservedExporter(
      new OTLPMetricExporter({
        url: this.url,
        headers: opts.authValue ? { Authorization: opts.authValue } : {},
        timeoutMillis: timeout,
      }),
      (err) => this.record(err),
    );
    this.reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: config.interval_ms,
      exportTimeoutMillis: timeout,
      metricProducers: [new RegistryProducer(opts.metrics.registry, now(), now)],
    });
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': OTLP_SERVICE_NAME,
        'service.version': opts.serviceVersion,
        'service.instance.id': loadInstanceId(opts.dataDir),
      }),
      readers: [this.reader],
    });
    if (!opts.authValue) {
      logger.warn(
        { key: config.auth_value_key },
        'OTLP push has no Authorization value in the vault; sending without one',
      );
    }
    logger.info({ endpoint: publicEndpoint(this.url), interval_ms: config.interval_ms }, 'OTLP push on');
  }

  /** Exports now (tests, shutdown); resolves whatever the outcome, which lands in `status()`. */
  async flush(): Promise<void> {
    if (this.stopped) return;
    await this.reader.forceFlush().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Shutdown sends one last export; a dead endpoint must not hold the engine's exit.
    await this.provider.shutdown({ timeoutMillis: 2_000 }).catch(() => undefined);
  }

  status(): OtlpExportStatus {
    const { config } = this.opts;
    return {
      enabled: true,
      endpoint: publicEndpoint(this.url),
      interval_ms: config.interval_ms,
      auth_set: Boolean(this.opts.authValue),
      ...this.tracker.view(),
    };
  }

  private record(err: Error | null): void {
    const { logger, metrics } = this.opts;
    if (!err) {
      const ended = this.tracker.success();
      if (ended > 0) logger.info({ failed_exports: ended }, 'OTLP push recovered');
      return;
    }
    metrics.otlpExportFailuresTotal.inc();
    const message = err.message.slice(0, 300);
    if (this.tracker.failure(message)) {
      logger.warn(
        { endpoint: publicEndpoint(this.url), error: message },
        'OTLP push failed; retrying every interval (counted in telemy_otlp_export_failures_total)',
      );
    }
  }
}
