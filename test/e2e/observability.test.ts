import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createUser,
  jwtConfigFromEnv,
  migrate,
  openDatabase,
  seedManifest,
  signAccessToken,
} from '@telemy/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayMetrics } from '../../packages/relay/src/metrics.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import {
  eventually,
  newTelemyHome,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../support/telemy-process.js';

/**
 * Metrics, OTLP push, dashboards and alert rules (docs/observability.md) end to end: a real
 * `telemy engine` (real OBS streaming over SRT, OTLP push on) and a real `telemy control-plane --role
 * all` (AWS provider against a local EC2 stand-in, so provisioning, retries, exhaustion and the
 * watchdog really run) scraped by Debian's Prometheus with the shipped alert rules loaded; every query
 * of the shipped dashboards must return series.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const DASHBOARDS = ['deploy/grafana/telemy-engine.json', 'deploy/grafana/telemy-control-plane.json'];
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const OBS_PORT = 47700;
const ENGINE_PORT = 47701;
const SRT_PORT = 47702;
const SINK_PORT = 47703;
const PROM_PORT = 9190;
const OBS_PASSWORD = 'observability-e2e-pw';
const OTLP_AUTH = 'Basic b2JzZXJ2YWJpbGl0eTplMmU=';
const JWT_SECRET = 'observability-e2e-jwt-secret-0123456789abcdef';
const REGION = 'us-east-1';

interface PanelTarget {
  expr: string;
}
interface Panel {
  title: string;
  targets?: PanelTarget[];
}

let obs: ObsHandle;
let srt: ChildProcess;
let engine: TelemyProcess;
let cp: TelemyProcess;
let prometheus: ChildProcess;
let ec2: Ec2Stub;
let otlp: OtlpReceiver;
let token = '';
let cpUrl = '';
let cpJwt = '';
const work = mkdtempSync(path.join(tmpdir(), 'telemy-observability-'));
const engineBase = `http://127.0.0.1:${ENGINE_PORT}`;
const promBase = `http://127.0.0.1:${PROM_PORT}`;

/** Just enough of EC2's query API: RunInstances throttled for the first session, then launches. */
class Ec2Stub {
  readonly actions: string[] = [];
  private throttledToken: string | null = null;
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const q = new URLSearchParams(body);
      const action = q.get('Action') ?? '';
      this.actions.push(action);
      const [status, xml] = this.answer(action, q);
      res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
    });
  });

  private answer(action: string, q: URLSearchParams): [number, string] {
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    const instance = (id: string, session: string, ip: string | null) =>
      `<item><instanceId>${id}</instanceId><instanceState><code>16</code><name>running</name></instanceState>${
        ip ? `<ipAddress>${ip}</ipAddress>` : ''
      }<tagSet><item><key>telemy:managed</key><value>true</value></item><item><key>telemy:session_id</key><value>${session}</value></item></tagSet></item>`;
    if (action === 'RunInstances') {
      const clientToken = q.get('ClientToken') ?? '';
      this.throttledToken ??= clientToken;
      if (clientToken === this.throttledToken) {
        return [
          503,
          '<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r1</RequestID></Response>',
        ];
      }
      return [
        200,
        `<RunInstancesResponse ${ns}><requestId>r2</requestId><reservationId>r-1</reservationId><ownerId>1</ownerId><instancesSet><item><instanceId>i-0launched</instanceId><instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet></RunInstancesResponse>`,
      ];
    }
    if (action === 'DescribeInstances') {
      // By id: the launched relay is up. By tag (the watchdog's sweep): one instance no session owns.
      const item = q.get('InstanceId.1')
        ? instance('i-0launched', 'ses_launched', '127.0.0.1')
        : instance('i-0orphan', 'ses_nobody_knows', null);
      return [
        200,
        `<DescribeInstancesResponse ${ns}><requestId>r3</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${item}</instancesSet></item></reservationSet></DescribeInstancesResponse>`,
      ];
    }
    if (action === 'TerminateInstances') {
      const id = q.get('InstanceId.1') ?? '';
      return [
        200,
        `<TerminateInstancesResponse ${ns}><requestId>r4</requestId><instancesSet><item><instanceId>${id}</instanceId><currentState><code>32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet></TerminateInstancesResponse>`,
      ];
    }
    return [
      400,
      '<Response><Errors><Error><Code>InvalidAction</Code><Message>unsupported</Message></Error></Errors></Response>',
    ];
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Receives the engine's OTLP/HTTP JSON pushes. */
class OtlpReceiver {
  readonly pushes: { headers: IncomingHttpHeaders; body: string }[] = [];
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      this.pushes.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
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

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(url, { headers });
  expect(r.status).toBe(200);
  return r.text();
}

const engineMetrics = () => scrape(`${engineBase}/metrics`, { authorization: `Bearer ${token}` });
const cpMetrics = () => scrape(`${cpUrl}/metrics`);

function cpRequest(method: string, route: string, body?: unknown, extra: Record<string, string> = {}) {
  return fetch(`${cpUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${cpJwt}`,
      'x-aegis-client-version': '0.1.0',
      'x-aegis-client-platform': 'linux',
      'content-type': 'application/json',
      ...extra,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function promQuery(
  expr: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const j = (await r.json()) as {
    status: string;
    error?: string;
    data: { resultType: string; result: never[] };
  };
  if (j.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${j.error}`);
  return j.data.result;
}

function panelQueries(file: string): { panel: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as { panels: Panel[] };
  return dash.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$instance', '.*') })),
  );
}

async function seedControlPlane(home: string): Promise<string> {
  const db = await openDatabase({ TELEMY_HOME: home });
  try {
    await migrate(db);
    await seedManifest(
      db,
      [{ region: REGION, image_id: 'ami-0e2e', default_instance_type: 't3.micro' }],
      new Date(),
    );
    const user = await createUser(db, { email: 'observability@telemy.invalid', plan: 'starter' }, new Date());
    return user.id;
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  ec2 = new Ec2Stub();
  otlp = new OtlpReceiver();
  const cpHome = newTelemyHome();
  // OBS first and alone: on a loaded machine it needs every core it can get to come up.
  obs = await startObs({
    port: OBS_PORT,
    password: OBS_PASSWORD,
    scenes: ['LIVE', 'BRB', 'LOW', 'OFFLINE'],
    readyTimeoutMs: 120_000,
  });
  // The ingest OBS streams to: srt-live-transmit writing the JSON stats the engine's "phone" source tails.
  const statsFile = path.join(work, 'srt-stats.json');
  srt = spawn(
    'srt-live-transmit',
    [
      '-pf:json',
      `-statsout:${statsFile}`,
      '-s:60',
      `srt://:${SRT_PORT}?mode=listener`,
      `udp://127.0.0.1:${SINK_PORT}`,
    ],
    { stdio: 'ignore' },
  );
  const [ec2Url, otlpUrl, userId] = await Promise.all([
    ec2.listen(),
    otlp.listen(),
    seedControlPlane(cpHome),
  ]);

  const cpEnv = {
    TELEMY_JWT_SECRET: JWT_SECRET,
    TELEMY_RELAY_PROVIDER: 'aws',
    TELEMY_AWS_REGIONS: REGION,
    TELEMY_AWS_SECURITY_GROUP_ID: 'sg-0e2e',
    AWS_ENDPOINT_URL_EC2: ec2Url,
    // Made per run: the local EC2 stand-in accepts any signed request.
    AWS_ACCESS_KEY_ID: `test-${randomUUID()}`,
    AWS_SECRET_ACCESS_KEY: randomUUID(),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  cp = startTelemy(['control-plane', '--role', 'all', '--port', '0', '--host', '127.0.0.1'], {
    home: cpHome,
    env: cpEnv,
  });
  cpJwt = (await signAccessToken(await jwtConfigFromEnv(cpEnv), userId, Date.now())).token;

  const home = newTelemyHome();
  writeConfig(
    home,
    `[obs]\nport = ${OBS_PORT}\n[server]\nport = ${ENGINE_PORT}\n[cloud]\nmode = "off"\n` +
      `[otlp]\nenabled = true\nendpoint = "${otlpUrl}"\ninterval_ms = 1000\n` +
      `[[sources]]\nname = "phone"\ntype = "srt_live_transmit"\nstats_file = "${statsFile}"\n`,
  );
  for (const [key, value] of [
    ['obs_password', OBS_PASSWORD],
    ['otlp_auth', OTLP_AUTH],
  ]) {
    const set = telemySync(['vault', 'set', key as string], { home, input: `${value}\n` });
    expect(set.status, set.stderr).toBe(0);
  }
  engine = startTelemy(['engine', '--config', `${home}/config.toml`], { home });
  token = (await engine.waitFor(/dashboard: \S+\?token=(\S+)/, 60_000))[1] as string;
  cpUrl = (await cp.waitFor(/listening on (http:\/\/\S+)/, 90_000))[1] as string;

  const promConfig = path.join(work, 'prometheus.yml');
  writeFileSync(
    promConfig,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${ALERTS}`,
      'scrape_configs:',
      '  - job_name: telemy-engine',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${token}`,
      '    static_configs:',
      `      - targets: ['127.0.0.1:${ENGINE_PORT}']`,
      '  - job_name: telemy-control-plane',
      '    static_configs:',
      `      - targets: ['${new URL(cpUrl).host}']`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${path.join(work, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${PROM_PORT}`,
    ],
    { stdio: 'ignore' },
  );

  // Engine: OBS connected and streaming, then a dashboard scene switch (histogram observation).
  await eventually(async () => /^telemy_obs_connected 1$/m.test(await engineMetrics()), 30_000, 200);
  // OBS going away and coming back: STUDIO → DEGRADED → STUDIO, so mode transitions have data.
  await obs.restart();
  await eventually(
    async () => /^telemy_state_transition_total\{[^}]*to="STUDIO"/m.test(await engineMetrics()),
    60_000,
    200,
  );
  await obs.setSrtStreamTarget(`srt://127.0.0.1:${SRT_PORT}`);
  await obs.startStream();
  await eventually(async () => /^telemy_feed_rtt_seconds\{/m.test(await engineMetrics()), 20_000, 200);
  await eventually(
    async () => /^telemy_output_bitrate_kbps\{[^}]*\} [1-9]/m.test(await engineMetrics()),
    20_000,
    200,
  );
  const sw = await fetch(`${engineBase}/api/intent`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scene: 'BRB' }),
  });
  expect(sw.status).toBe(200);

  // Control plane: a throttled launch that exhausts its retries, then one that launches and is stopped.
  const first = await cpRequest(
    'POST',
    '/api/v1/relay/start',
    { region_preference: REGION, client_context: { obs_connected: true, mode: 'irl', requested_by: 'cli' } },
    { 'idempotency-key': randomUUID() },
  );
  expect(first.status).toBeLessThan(300);
  await eventually(
    async () => /^aegis_relay_provision_total\{[^}]*status="error"/m.test(await cpMetrics()),
    30_000,
    250,
  );
  const key = randomUUID();
  const startBody = {
    region_preference: REGION,
    client_context: { obs_connected: true, mode: 'irl', requested_by: 'cli' },
  };
  const second = await cpRequest('POST', '/api/v1/relay/start', startBody, { 'idempotency-key': key });
  expect(second.status).toBeLessThan(300);
  const replay = await cpRequest('POST', '/api/v1/relay/start', startBody, { 'idempotency-key': key });
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  const session = (await second.json()) as { session_id: string };
  await eventually(
    async () => /^aegis_relay_provision_total\{[^}]*status="ok"/m.test(await cpMetrics()),
    20_000,
    250,
  );
  const stop = await cpRequest('POST', '/api/v1/relay/stop', {
    session_id: session.session_id,
    reason: 'user_requested',
  });
  expect(stop.status).toBe(200);
  await eventually(async () => /^aegis_relay_deprovision_total\{/m.test(await cpMetrics()), 20_000, 250);

  // Let Prometheus take a few scrapes after the last change so rate() has two samples everywhere.
  await eventually(async () => (await promQuery('aegis_relay_deprovision_total')).length > 0, 30_000, 250);
  await new Promise((r) => setTimeout(r, 3_000));
}, 400_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await engine?.stop();
  await cp?.stop();
  srt?.kill('SIGTERM');
  await obs?.dispose();
  await ec2?.close();
  await otlp?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('observability against a real Prometheus', () => {
  it('every shipped dashboard query returns series from the running engine and control plane', async () => {
    const empty: string[] = [];
    let checked = 0;
    for (const file of DASHBOARDS) {
      for (const { panel, expr } of panelQueries(file)) {
        checked += 1;
        if ((await promQuery(expr)).length === 0) empty.push(`${file} "${panel}": ${expr}`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(30);
    expect(empty).toEqual([]);
  });

  it('loads the shipped alert rules, which promtool accepts', async () => {
    expect(execFileSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' })).toMatch(
      /SUCCESS: 7 rules/,
    );
    // Synthetic series: degraded only past 60 s, p95 over budget, a first-ever exhaustion, and so on.
    expect(
      execFileSync('promtool', ['test', 'rules', path.join(ROOT, 'deploy/prometheus/alerts.test.yml')], {
        encoding: 'utf8',
      }),
    ).toContain('SUCCESS');
    const r = (await (await fetch(`${promBase}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(rules.map((x) => x.name).sort()).toEqual([
      'TelemyAwsRetryBurst',
      'TelemyAwsRetryExhausted',
      'TelemyEngineDegraded',
      'TelemyFailoverLatencyOverBudget',
      'TelemyJobFailures',
      'TelemyProvisioningSlow',
      'TelemyWatchdogTerminations',
    ]);
    await eventually(
      async () => {
        const again = (await (await fetch(`${promBase}/api/v1/rules`)).json()) as typeof r;
        return again.data.groups.flatMap((g) => g.rules).every((x) => x.health === 'ok');
      },
      10_000,
      250,
    );
  });

  it('fires the retry-exhaustion and watchdog alerts for what really happened', async () => {
    await eventually(
      async () => {
        const r = (await (await fetch(`${promBase}/api/v1/alerts`)).json()) as {
          data: { alerts: { labels: { alertname: string }; state: string }[] };
        };
        const firing = new Set(
          r.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname),
        );
        return firing.has('TelemyAwsRetryExhausted') && firing.has('TelemyWatchdogTerminations');
      },
      15_000,
      250,
    );
    expect(ec2.actions).toContain('TerminateInstances');
  });

  it('passes promtool check metrics on the engine, control plane and relay /metrics', async () => {
    const relay = createRelayMetrics();
    relay.linkBitrate.set({ link: 'phone' }, 1200);
    for (const text of [await engineMetrics(), await cpMetrics(), await relay.registry.metrics()]) {
      const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(out).toBe('');
    }
  });

  it('pushes the same metrics over OTLP with the vault auth header and reports it in /api/state', async () => {
    await eventually(() => otlp.pushes.length >= 2, 10_000, 100);
    const push = otlp.pushes.at(-1);
    expect(push?.headers.authorization).toBe(OTLP_AUTH);
    expect(push?.body).toContain('"telemy_obs_connected"');
    expect(push?.body).toContain('"telemy_failover_detection_to_switch_seconds"');
    expect(push?.body).toContain('"telemy-engine"');
    interface OtlpState {
      otlp: {
        enabled: boolean;
        last_success_at: string | null;
        failures_total: number;
        last_error: string | null;
      };
    }
    const state = async () =>
      (await (
        await fetch(`${engineBase}/api/state`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as OtlpState;
    // A push can time out on a loaded machine (1 s interval → 1 s timeout); what matters is that the
    // dock's count and the metric agree, so no failure goes unseen.
    const { value: st } = await eventually(
      async () => {
        const before = await state();
        const counted = (await engineMetrics()).match(/^telemy_otlp_export_failures_total (\d+)$/m)?.[1];
        return Number(counted) === before.otlp.failures_total && before;
      },
      10_000,
      100,
    );
    expect(st.otlp.enabled).toBe(true);
    expect(st.otlp.last_success_at).not.toBeNull();
    expect(JSON.stringify(st)).not.toContain(OTLP_AUTH.slice(6));
  });
});
