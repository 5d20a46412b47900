import type { TelemyConfig } from '../config/index.js';

/*
 * The OTLP push's status and URL rules, apart from the push itself: the engine shows the status even
 * when the push is off, without loading the OpenTelemetry SDK that only an enabled push needs.
 */

/** What the dock and `/api/state` show about the push (never silent). */
export interface OtlpExportStatus {
  enabled: boolean;
  /** Where metrics go, without credentials or query string. */
  endpoint: string;
  interval_ms: number;
  auth_set: boolean;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  failures_total: number;
  consecutive_failures: number;
}

/**
 * The OTLP/HTTP metrics URL for a configured endpoint: Grafana Cloud and collectors publish a base
 * (`…/otlp`, `http://collector:4318`) to which the signal path `/v1/metrics` is appended.
 */
export function otlpMetricsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/metrics')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return u.toString();
}

export function publicEndpoint(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}

/** `/api/state`'s `otlp` when the push is off. */
export function otlpDisabledStatus(config: TelemyConfig['otlp']): OtlpExportStatus {
  return {
    enabled: false,
    endpoint: config.endpoint ? publicEndpoint(otlpMetricsUrl(config.endpoint)) : '',
    interval_ms: config.interval_ms,
    auth_set: false,
    last_success_at: null,
    last_failure_at: null,
    last_error: null,
    failures_total: 0,
    consecutive_failures: 0,
  };
}
