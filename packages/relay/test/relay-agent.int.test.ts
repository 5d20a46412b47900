import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RelayHealthReport, RelayTelemetryMessage } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayAgent, startRelayAgent } from '../src/index.js';
import {
  freeTcpPort,
  freeUdpPort,
  type Publisher,
  publish,
  type Subscriber,
  subscribe,
  type TelemetryTap,
  tapTelemetry,
  upgradeStatus,
  waitFor,
  waitForAsync,
} from './srt-peers.js';

const PAIR = 'PAIRTOKENABCDEFGH234';
const EGRESS_PASS = 'EGRESSPASSWORD7654';
const WS_TOKEN = 'ws-token-0123456789abcdef';
const CREDENTIAL = 'rly_test_credential_1234';

interface Posted {
  auth: string | undefined;
  body: unknown;
}

/** A stand-in control plane: records health posts, answers with a settable status. */
async function controlPlaneStub() {
  const posted: Posted[] = [];
  let status = 204;
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      if (req.url === '/api/v1/relay/health' && req.method === 'POST') {
        posted.push({ auth: req.headers.authorization, body: JSON.parse(data) });
      }
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posted,
    setStatus: (s: number) => {
      status = s;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function baseConfig() {
  return {
    sessionId: 'ses_test',
    instanceId: 'inst-test',
    pairToken: PAIR,
    relayWsToken: WS_TOKEN,
    egressPassphrase: EGRESS_PASS,
    bindHost: '127.0.0.1',
    ingestPorts: [await freeUdpPort(), await freeUdpPort()],
    egressPort: await freeUdpPort(),
    telemetryPort: 0,
    stallAfterMs: 300,
    ingestLatencyMs: 20,
    statsEveryPackets: 20,
    logLevel: 'error',
  };
}

async function metricValue(port: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : Number.NaN;
}

process.env.TELEMY_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-relay-'));

describe('relay agent with real SRT', () => {
  let cp: Awaited<ReturnType<typeof controlPlaneStub>>;
  let agent: RelayAgent;
  let tap: TelemetryTap;
  let sub: Subscriber;
  const publishers: Publisher[] = [];

  beforeAll(async () => {
    cp = await controlPlaneStub();
    agent = await startRelayAgent({
      ...(await baseConfig()),
      controlPlaneUrl: cp.url,
      relayCredential: CREDENTIAL,
      healthIntervalMs: 300,
    });
    tap = await tapTelemetry(agent.addresses.telemetryPort, WS_TOKEN);
  });

  afterAll(async () => {
    for (const p of publishers) p.kill();
    tap?.close();
    await sub?.stop();
    await agent?.close();
    await cp?.close();
  });

  it('answers /healthz and greets telemetry clients with hello', async () => {
    const res = await fetch(`http://127.0.0.1:${agent.addresses.telemetryPort}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', session_id: 'ses_test', ingest_active: false });
    await waitFor(() => tap.messages.find((m) => m.type === 'hello'), 2_000, 'hello');
    expect(tap.messages[0]).toMatchObject({ type: 'hello', session_id: 'ses_test' });
  });

  it('refuses the telemetry upgrade without the right relay_ws_token (401)', async () => {
    const port = agent.addresses.telemetryPort;
    expect(await upgradeStatus(port, { authorization: 'Bearer wrong-token-0123456789' })).toBe(401);
    expect(await upgradeStatus(port, {})).toBe(401);
    expect(await upgradeStatus(port, { authorization: `Bearer ${WS_TOKEN}` })).toBe(101);
  });

  it('carries a stream published with the pair token to an OBS-side caller on the egress', async () => {
    publishers.push(publish(agent.addresses.ingestPorts[0] as number, PAIR));
    await waitFor(
      () => tap.messages.find((m) => m.type === 'ingest' && m.state === 'resumed' && m.link_id === 'link1'),
      15_000,
      'ingest resumed on link1',
    );
    sub = await subscribe(agent.addresses.egressPort, EGRESS_PASS);
    await waitFor(() => sub.bytes() > 60_000, 15_000, 'bytes at the OBS-side caller');
    expect(sub.firstByte()).toBe(0x47); // MPEG-TS sync byte: the media itself came through
    const stats = await waitFor(
      () =>
        tap.messages.findLast(
          (m) => m.type === 'stats' && m.egress_clients === 1 && m.ingest_active === true,
        ),
      5_000,
      'stats with ingest and an egress client',
    );
    const link1 = (stats.links as Array<Record<string, unknown>>).find((l) => l.link_id === 'link1');
    expect(link1).toMatchObject({ status: 'active', protocol: 'srt', source_ip: '127.0.0.1' });
    expect(link1?.bitrate_kbps as number).toBeGreaterThan(50);
    expect((stats.links as Array<Record<string, unknown>>)[1]?.source_ip).toBeNull();
  });

  it('reports no stall when its own event loop was blocked while the publisher kept sending', async () => {
    const before = tap.messages.length;
    // A busy host: the agent runs nothing for longer than its stall window; packets queue meanwhile.
    const until = performance.now() + 1_000;
    let spins = 0;
    while (performance.now() < until) spins += 1;
    expect(spins).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1_000));
    const stalls = tap.messages.slice(before).filter((m) => m.type === 'ingest' && m.state === 'stalled');
    expect(stalls).toEqual([]);
  });

  it('rejects and counts a caller with the wrong passphrase', async () => {
    const bad = publish(agent.addresses.ingestPorts[1] as number, 'WRONGPASSPHRASE999');
    publishers.push(bad);
    const code = await Promise.race([bad.exited, new Promise((r) => setTimeout(() => r('running'), 10_000))]);
    expect(code).not.toBe(0);
    expect(code).not.toBe('running');
    const rejected = /^telemy_relay_rejected_callers_total\{listener="link2"\}/;
    await waitForAsync(
      async () => (await metricValue(agent.addresses.telemetryPort, rejected)) === 1,
      3_000,
      'count',
    );
    expect(agent.healthReport().links.find((l) => l.link_id === 'link2')?.status).toBe('disconnected');
  });

  it('posts health reports with the relay credential and the health report body', async () => {
    const report = await waitFor(
      () => cp.posted.findLast((p) => (p.body as { ingest_active?: boolean }).ingest_active === true),
      5_000,
      'a health report with ingest',
    );
    expect(report.auth).toBe(`Relay ${CREDENTIAL}`);
    const body = RelayHealthReport.parse(report.body);
    expect(body).toMatchObject({ session_id: 'ses_test', instance_id: 'inst-test', egress_active: true });
    expect(body.links.map((l) => l.link_id)).toEqual(['link1', 'link2']);
    // The publisher's address; link2 only saw the rejected caller.
    expect(body.links.map((l) => l.source_ip)).toEqual(['127.0.0.1', null]);
    expect(body.bonded.active_link_count).toBe(1);
    expect(Number.isInteger(body.session_uptime_seconds)).toBe(true);
  });

  it('fails over to the other link when the forwarded publisher dies, and egress continues', async () => {
    publishers.push(publish(agent.addresses.ingestPorts[1] as number, PAIR));
    await waitFor(
      () =>
        tap.messages.findLast(
          (m) =>
            m.type === 'stats' &&
            (m.links as Array<{ link_id: string; status: string }>).every((l) => l.status === 'active'),
        ),
      15_000,
      'both links active',
    );
    const first = publishers[0] as Publisher;
    first.kill();
    const failover = await waitFor(
      () => tap.messages.find((m) => m.type === 'link_failover'),
      5_000,
      'link_failover',
    );
    expect(failover).toMatchObject({ from: 'link1', to: 'link2' });
    expect(tap.messages.some((m) => m.type === 'ingest' && m.state === 'stalled')).toBe(false);
    const atFailover = sub.bytes();
    await waitFor(() => sub.bytes() > atFailover + 50_000, 10_000, 'egress bytes from link2');
  });

  it('pushes ingest: stalled when the last publisher dies', async () => {
    const last = publishers[2] as Publisher;
    const killedAt = performance.now();
    last.kill();
    const stalled = await waitFor(
      () => tap.messages.find((m) => m.type === 'ingest' && m.state === 'stalled'),
      5_000,
      'ingest stalled',
    );
    expect(stalled.link_id).toBe('link2');
    // Generous bound: the figure itself is measured by scripts/bench/relay.ts.
    expect(stalled.receivedAt - killedAt).toBeLessThan(2_000);
    expect(await metricValue(agent.addresses.telemetryPort, /^telemy_relay_stalls_total /)).toBe(1);
    expect(await metricValue(agent.addresses.telemetryPort, /^telemy_relay_link_failovers_total /)).toBe(1);
    expect(await metricValue(agent.addresses.telemetryPort, /^telemy_relay_ingest_active /)).toBe(0);
    // The dropped publisher's address goes with it (fresh listener, or SRT's own disconnect).
    await waitFor(
      () => agent.healthReport().links.every((l) => l.source_ip === null),
      7_000,
      'source_ip cleared after the caller left',
    );
  });

  it('serves /metrics that promtool accepts, with every relay instrument', async () => {
    const text = await (await fetch(`http://127.0.0.1:${agent.addresses.telemetryPort}/metrics`)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).not.toMatch(/error/i);
    expect(check.status).toBe(0);
    for (const name of [
      'telemy_relay_link_bitrate_kbps{link="link1"}',
      'telemy_relay_link_rtt_seconds{link="link1"}',
      'telemy_relay_link_loss_ratio{link="link1"}',
      'telemy_relay_ingest_active',
      'telemy_relay_stalls_total',
      'telemy_relay_link_failovers_total',
      'telemy_relay_egress_clients',
      'telemy_relay_health_post_failures_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('restarts a dead srt-live-transmit and serves the link again', async () => {
    const ingest = agent.processes.ingest[0];
    const pid = ingest?.pid;
    ingest?.kill();
    await waitFor(() => ingest?.pid && ingest.pid !== pid, 5_000, 'restarted ingest listener');
    const resumedBefore = tap.messages.filter((m) => m.type === 'ingest' && m.state === 'resumed').length;
    publishers.push(publish(agent.addresses.ingestPorts[0] as number, PAIR));
    await waitFor(
      () => tap.messages.filter((m) => m.type === 'ingest' && m.state === 'resumed').length > resumedBefore,
      15_000,
      'ingest resumed after the restart',
    );
  });

  it('accepts a publisher that reconnects right after a hard drop', async () => {
    const current = publishers[3] as Publisher;
    const resumedBefore = tap.messages.filter((m) => m.type === 'ingest' && m.state === 'resumed').length;
    current.kill();
    await waitFor(
      () => tap.messages.filter((m) => m.type === 'ingest' && m.state === 'stalled').length === 2,
      5_000,
      'second stall',
    );
    // ffmpeg gives up after its 3 s connect timeout: it gets through only if the relay listens again
    // well before SRT's 5 s peer-idle timeout would free the listener.
    const again = publish(agent.addresses.ingestPorts[0] as number, PAIR);
    publishers.push(again);
    await waitFor(
      () => tap.messages.filter((m) => m.type === 'ingest' && m.state === 'resumed').length > resumedBefore,
      8_000,
      'ingest resumed from the reconnected publisher',
    );
    expect(again.child.exitCode).toBeNull();
  });

  it('sent only telemetry messages that match the protocol schemas', () => {
    const types = new Set<string>();
    for (const { receivedAt: _r, ...m } of tap.messages) {
      types.add(RelayTelemetryMessage.parse(m).type);
    }
    expect([...types].sort()).toEqual(['hello', 'ingest', 'link_failover', 'stats']);
  });

  it('stops itself when the control plane says the session is over (404)', async () => {
    cp.setStatus(404);
    const exit = await Promise.race([agent.finished, new Promise((r) => setTimeout(() => r(null), 5_000))]);
    expect(exit).toMatchObject({ reason: 'session_stopped' });
    expect(agent.processes.egress.pid).toBeNull();
  });
});

describe('relay agent without a control plane', () => {
  it('keeps serving while every health report fails', async () => {
    const deadPort = await freeTcpPort();
    const agent = await startRelayAgent({
      ...(await baseConfig()),
      controlPlaneUrl: `http://127.0.0.1:${deadPort}`,
      relayCredential: CREDENTIAL,
      healthIntervalMs: 200,
    });
    const pub = publish(agent.addresses.ingestPorts[0] as number, PAIR);
    const sub = await subscribe(agent.addresses.egressPort, EGRESS_PASS);
    try {
      await waitFor(() => sub.bytes() > 60_000, 20_000, 'egress bytes');
      const failures = await metricValue(
        agent.addresses.telemetryPort,
        /^telemy_relay_health_post_failures_total /,
      );
      expect(failures).toBeGreaterThanOrEqual(1);
      const before = sub.bytes();
      await waitFor(() => sub.bytes() > before + 30_000, 10_000, 'more egress bytes');
      expect(agent.healthReport().ingest_active).toBe(true);
    } finally {
      pub.kill();
      await sub.stop();
      await agent.close();
    }
  });
});

describe('relay agent self-destruct', () => {
  it('stops at max_session_seconds and runs the shutdown command', async () => {
    const marker = path.join(process.env.TELEMY_HOME as string, 'shutdown-ran');
    const agent = await startRelayAgent({
      ...(await baseConfig()),
      maxSessionSeconds: 1,
      shutdownCommand: `touch ${marker}`,
    });
    const exit = await Promise.race([agent.finished, new Promise((r) => setTimeout(() => r(null), 5_000))]);
    expect(exit).toMatchObject({ reason: 'max_session_reached' });
    await waitFor(() => fs.existsSync(marker), 3_000, 'the shutdown command');
    expect(agent.processes.ingest.every((p) => p.pid === null)).toBe(true);
  });
});
