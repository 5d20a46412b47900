import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@telemy/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import { loadInstanceId, OtlpExportTracker, OtlpMetricsPush } from '../../src/metrics/otlp.js';
import { otlpDisabledStatus, otlpMetricsUrl } from '../../src/metrics/otlp-status.js';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: OtlpBody;
}

interface OtlpAttr {
  key: string;
  value: { stringValue?: string };
}
interface OtlpPoint {
  attributes?: OtlpAttr[];
  asDouble?: number;
  asInt?: string | number;
  sum?: number;
  count?: string | number;
  bucketCounts?: (string | number)[];
  explicitBounds?: number[];
}
interface OtlpMetric {
  name: string;
  description?: string;
  gauge?: { dataPoints: OtlpPoint[] };
  sum?: { dataPoints: OtlpPoint[]; isMonotonic?: boolean; aggregationTemporality?: number };
  histogram?: { dataPoints: OtlpPoint[]; aggregationTemporality?: number };
}
interface OtlpBody {
  resourceMetrics: { resource: { attributes: OtlpAttr[] }; scopeMetrics: { metrics: OtlpMetric[] }[] }[];
}

/** A stand-in OTLP/HTTP receiver: records each export and answers with `status`. */
class Receiver {
  readonly received: Received[] = [];
  status = 200;
  private server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.received.push({
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody,
      });
      res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/otlp`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const attr = (attrs: OtlpAttr[] | undefined, key: string) =>
  attrs?.find((a) => a.key === key)?.value.stringValue;

function metricsOf(body: OtlpBody): Map<string, OtlpMetric> {
  return new Map(
    body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).map((m) => [m.name, m]),
  );
}

describe('OtlpMetricsPush', () => {
  let receiver: Receiver;
  let endpoint: string;
  let dataDir: string;
  let logLines: string[];
  const logger = () =>
    createLogger('otlp-test', {
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, cb) {
          logLines.push(String(chunk));
          cb();
        },
      }),
    });

  beforeEach(async () => {
    receiver = new Receiver();
    endpoint = await receiver.listen();
    dataDir = mkdtempSync(path.join(tmpdir(), 'telemy-otlp-'));
    logLines = [];
  });

  afterEach(async () => {
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('pushes the same instruments as /metrics with the resource attributes and the auth header', async () => {
    const metrics = new EngineMetrics();
    metrics.obsConnected.set(1);
    metrics.feedBitrateKbps.set({ source: 'phone' }, 2450.5);
    metrics.sceneSwitchTotal.inc({ reason: 'auto_failover', result: 'ok' }, 3);
    metrics.failoverDetectionToSwitchSeconds.observe({ reason: 'auto_failover' }, 0.2);
    metrics.failoverDetectionToSwitchSeconds.observe({ reason: 'auto_failover' }, 0.7);
    metrics.failoverDetectionToSwitchSeconds.observe({ reason: 'auto_failover' }, 42);
    const push = new OtlpMetricsPush({
      config: { enabled: true, endpoint, auth_value_key: 'otlp_auth', interval_ms: 60_000 },
      metrics,
      authValue: 'Basic MTIzNDU2OmdsY190b2tlbg==',
      serviceVersion: '9.8.7',
      dataDir,
      logger: logger(),
    });
    await push.flush();
    await push.stop();

    const first = receiver.received[0];
    if (!first) throw new Error('the receiver got no export');
    expect(first.url).toBe('/otlp/v1/metrics');
    expect(first.headers.authorization).toBe('Basic MTIzNDU2OmdsY190b2tlbg==');
    const resource = first.body.resourceMetrics[0]?.resource.attributes;
    expect(attr(resource, 'service.name')).toBe('telemy-engine');
    expect(attr(resource, 'service.version')).toBe('9.8.7');
    expect(attr(resource, 'service.instance.id')).toBe(
      readFileSync(path.join(dataDir, 'instance-id'), 'utf8').trim(),
    );

    const byName = metricsOf(first.body);
    expect(byName.get('telemy_obs_connected')?.gauge?.dataPoints[0]?.asDouble).toBe(1);
    const feed = byName.get('telemy_feed_bitrate_kbps')?.gauge?.dataPoints[0];
    expect(feed?.asDouble).toBe(2450.5);
    expect(attr(feed?.attributes, 'source')).toBe('phone');

    const switches = byName.get('telemy_scene_switch_total')?.sum;
    expect(switches?.isMonotonic).toBe(true);
    expect(switches?.aggregationTemporality).toBe(2); // CUMULATIVE, as Prometheus counters are
    expect(switches?.dataPoints[0]?.asDouble).toBe(3);
    expect(attr(switches?.dataPoints[0]?.attributes, 'result')).toBe('ok');

    const hist = byName.get('telemy_failover_detection_to_switch_seconds')?.histogram?.dataPoints[0];
    expect(hist?.explicitBounds).toEqual([0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10]);
    expect(hist?.bucketCounts?.map(Number)).toEqual([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    expect(Number(hist?.count)).toBe(3);
    expect(hist?.sum).toBeCloseTo(42.9);
    expect(attr(hist?.attributes, 'reason')).toBe('auto_failover');
    expect(attr(hist?.attributes, 'le')).toBeUndefined();

    // Default process metrics travel too: it is the whole registry, not a hand-picked subset.
    expect(byName.has('process_cpu_user_seconds_total')).toBe(true);
    // Labelled instruments that never received a value have no series on /metrics either.
    expect(byName.has('telemy_chat_connected')).toBe(false);

    const status = push.status();
    expect(status.failures_total).toBe(0);
    expect(status.last_success_at).not.toBeNull();
    expect(JSON.stringify(status)).not.toContain('MTIzNDU2');
  });

  it('counts failed exports, logs once per streak and recovers', async () => {
    const metrics = new EngineMetrics();
    receiver.status = 401;
    const push = new OtlpMetricsPush({
      config: { enabled: true, endpoint, auth_value_key: 'otlp_auth', interval_ms: 60_000 },
      metrics,
      authValue: 'Basic c2VjcmV0LXZhbHVl',
      serviceVersion: '1.0.0',
      dataDir,
      logger: logger(),
    });
    await push.flush();
    await push.flush();
    expect(receiver.received).toHaveLength(2);
    const failing = push.status();
    expect(failing.failures_total).toBe(2);
    expect(failing.consecutive_failures).toBe(2);
    expect(failing.last_error).toBeTruthy();
    expect(failing.last_success_at).toBeNull();
    expect(
      (await metrics.registry.getSingleMetric('telemy_otlp_export_failures_total')?.get())?.values[0]?.value,
    ).toBe(2);
    expect(logLines.filter((l) => l.includes('OTLP push failed'))).toHaveLength(1);

    receiver.status = 200;
    await push.flush();
    expect(push.status().consecutive_failures).toBe(0);
    expect(push.status().failures_total).toBe(2);
    expect(logLines.some((l) => l.includes('OTLP push recovered'))).toBe(true);
    await push.stop();
    expect(logLines.join('')).not.toContain('c2VjcmV0LXZhbHVl');
  });

  it('counts an unreachable endpoint without throwing', async () => {
    const metrics = new EngineMetrics();
    const push = new OtlpMetricsPush({
      config: {
        enabled: true,
        endpoint: 'http://127.0.0.1:1/otlp',
        auth_value_key: 'otlp_auth',
        interval_ms: 1_000,
      },
      metrics,
      authValue: null,
      serviceVersion: '1.0.0',
      dataDir,
      logger: logger(),
    });
    await push.flush();
    await push.stop();
    expect(push.status().failures_total).toBeGreaterThanOrEqual(1);
    expect(logLines.some((l) => l.includes('no Authorization value'))).toBe(true);
  });

  it('exports on its own every interval', async () => {
    const push = new OtlpMetricsPush({
      config: { enabled: true, endpoint, auth_value_key: 'otlp_auth', interval_ms: 1_000 },
      metrics: new EngineMetrics(),
      authValue: 'Bearer x',
      serviceVersion: '1.0.0',
      dataDir,
      logger: logger(),
    });
    await expect
      .poll(() => receiver.received.length, { timeout: 4_000, interval: 100 })
      .toBeGreaterThanOrEqual(2);
    await push.stop();
  });
});

describe('loadInstanceId', () => {
  it('creates the id once and returns the same id on later starts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'telemy-iid-'));
    try {
      const a = loadInstanceId(path.join(dir, 'data'));
      expect(a).toMatch(/^[0-9a-f-]{36}$/);
      expect(loadInstanceId(path.join(dir, 'data'))).toBe(a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('otlpMetricsUrl', () => {
  it('appends the metrics signal path to a base endpoint once', () => {
    expect(otlpMetricsUrl('https://otlp-gateway-prod-eu-west-2.grafana.net/otlp')).toBe(
      'https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/metrics',
    );
    expect(otlpMetricsUrl('http://collector:4318/')).toBe('http://collector:4318/v1/metrics');
    expect(otlpMetricsUrl('http://collector:4318/v1/metrics')).toBe('http://collector:4318/v1/metrics');
  });

  it('reports a disabled push without secrets', () => {
    const s = otlpDisabledStatus({
      enabled: false,
      endpoint: 'https://u:p@h.example/otlp?k=v',
      auth_value_key: 'otlp_auth',
      interval_ms: 15_000,
    });
    expect(s.enabled).toBe(false);
    expect(s.endpoint).toBe('https://h.example/otlp/v1/metrics');
  });
});

describe('OtlpExportTracker', () => {
  it('flags only the first failure of a streak and reports the streak it ended', () => {
    let t = 1_000;
    const tr = new OtlpExportTracker(() => t);
    expect(tr.failure('a')).toBe(true);
    t = 2_000;
    expect(tr.failure('b')).toBe(false);
    expect(tr.view()).toMatchObject({ failures_total: 2, consecutive_failures: 2, last_error: 'b' });
    expect(tr.success()).toBe(2);
    expect(tr.failure('c')).toBe(true);
    expect(tr.view().last_failure_at).toBe(new Date(2_000).toISOString());
  });
});
