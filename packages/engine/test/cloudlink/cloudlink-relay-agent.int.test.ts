import { rmSync } from 'node:fs';
import { RelaySession } from '@telemy/protocol';
import { type RelayAgent, startRelayAgent } from '@telemy/relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, type SrtPublisher, startFfmpegPublisher } from '../../../../test/support/srt.js';
import { type CloudApi, CloudLink } from '../../src/cloudlink/cloudlink.js';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';
import { RelayTelemetryClient } from '../../src/cloudlink/relay-telemetry.js';
import { captureLogger, sessionBody, tempHome } from './support/fixtures.js';

/**
 * CloudLink against the real relay agent (real srt-live-transmit, ffmpeg as the phone): the
 * telemetry wire format, the bearer token, and the stall/resume pushes turning into signals.
 */
const PAIR = 'PAIRTOKENCLOUDLINK234';
const EGRESS_PASS = 'EGRESSCLOUDLINK765';
const WS_TOKEN = 'ws-token-cloudlink-0123456789';

let home: string;
let agent: RelayAgent;
let ingestPort: number;
let publisher: SrtPublisher | null = null;

function sessionFor(telemetryPort: number) {
  return RelaySession.parse(
    sessionBody({
      session_id: 'ses_agent',
      status: 'active',
      relay: {
        instance_id: 'inst-agent',
        public_ip: '127.0.0.1',
        srt_port: ingestPort,
        egress_port: agent.addresses.egressPort,
        ws_url: `ws://127.0.0.1:${telemetryPort}/telemetry`,
      },
      credentials: { pair_token: PAIR, relay_ws_token: WS_TOKEN },
      usage: { started_at: new Date().toISOString(), ended_at: null, duration_seconds: 0 },
    }),
  );
}

beforeAll(async () => {
  home = tempHome('cloudlink-relay');
  ingestPort = await freeUdpPort();
  agent = await startRelayAgent({
    sessionId: 'ses_agent',
    instanceId: 'inst-agent',
    pairToken: PAIR,
    relayWsToken: WS_TOKEN,
    egressPassphrase: EGRESS_PASS,
    bindHost: '127.0.0.1',
    ingestPorts: [ingestPort],
    egressPort: await freeUdpPort(),
    telemetryPort: 0,
    stallAfterMs: 300,
    ingestLatencyMs: 20,
    statsEveryPackets: 20,
    logLevel: 'error',
  });
});

afterAll(async () => {
  await publisher?.stop();
  await agent?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('CloudLink with the real relay agent', () => {
  it('turns the relay telemetry into state-machine signals', async () => {
    const signals: RelaySignal[] = [];
    const session = sessionFor(agent.addresses.telemetryPort);
    const api: CloudApi = {
      baseUrl: 'http://cp.invalid',
      start: async () => {
        throw new Error('reconnect-first must not start');
      },
      stop: async (id) => ({ session_id: id, status: 'stopped', stopped_at: new Date().toISOString() }),
      active: async () => session,
      usage: async () => {
        throw new Error('not needed');
      },
    };
    const { logger, lines: logLines } = captureLogger('debug', 'cloudlink');
    const link = new CloudLink({
      api,
      sink: { relaySignal: (s) => signals.push(s) },
      logger,
      createTelemetry: (url, token) =>
        new RelayTelemetryClient({ url, token, logger, reconnect: { baseMs: 50, maxMs: 200 } }),
    });
    const kinds = () => signals.map((s) => s.kind);
    try {
      await link.init();
      await expect.poll(kinds, { timeout: 10_000 }).toContain('telemetry_connected');
      await expect.poll(() => link.snapshot().telemetry.relay_uptime_s, { timeout: 10_000 }).not.toBeNull();
      await expect.poll(kinds, { timeout: 10_000 }).toContain('ingest_inactive');

      publisher = startFfmpegPublisher({
        url: `srt://127.0.0.1:${ingestPort}?passphrase=${PAIR}`,
        bitrateKbps: 1500,
      });
      await expect.poll(kinds, { timeout: 30_000 }).toContain('ingest_resumed');
      await expect.poll(kinds, { timeout: 10_000 }).toContain('ingest_active');
      await expect
        .poll(() => link.snapshot().links[0]?.bitrate_kbps ?? 0, { timeout: 10_000 })
        .toBeGreaterThan(300);

      await publisher.stop();
      publisher = null;
      await expect.poll(kinds, { timeout: 10_000 }).toContain('ingest_stalled');
      const stalled = signals.find((s) => s.kind === 'ingest_stalled');
      expect(stalled).toMatchObject({ session_id: 'ses_agent', link_id: 'link1', at: expect.any(String) });

      // Every frame the agent sent parsed: nothing was dropped as malformed.
      expect(logLines.join('')).not.toContain('malformed relay telemetry message');

      await agent.close();
      await expect.poll(kinds, { timeout: 10_000 }).toContain('telemetry_disconnected');
      expect(link.currentSessionId()).toBe('ses_agent');
    } finally {
      link.close();
    }
  });
});
