import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, RelayHealthReport, RelayTelemetryMessage } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type SrtListener,
  type SrtPublisher,
  startFfmpegPublisher,
  startSrtListener,
} from '../../../test/support/srt.js';
import { type RelayAgentConfigInput, startRelayAgent } from '../src/index.js';
import { SrtlaServer } from '../src/srtla/server.js';
import { freeUdpPort, publish, subscribe, tapTelemetry, waitFor, waitForAsync } from './srt-peers.js';
import { startTestSrtlaSender, type TestSrtlaSender } from './srtla-sender.js';

/** Three local source addresses: on Linux the whole of 127.0.0.0/8 is loopback. */
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** An agent on loopback with one ingest listener and the SRTLA port in front of it. */
async function srtlaAgent(
  session: Pick<
    RelayAgentConfigInput,
    'sessionId' | 'instanceId' | 'pairToken' | 'relayWsToken' | 'egressPassphrase' | 'ingestLatencyMs'
  >,
) {
  return startRelayAgent({
    ...session,
    bindHost: '127.0.0.1',
    ingestPorts: [await freeUdpPort()],
    maxLinks: 1,
    egressPort: await freeUdpPort(),
    srtlaPort: await freeUdpPort(),
    telemetryPort: 0,
    logLevel: 'error',
  });
}

describe('SRTLA receiver in front of a real SRT listener', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup.length = 0;
  });

  it('carries an ffmpeg SRT stream over three bonded links into srt-live-transmit', async () => {
    const listener: SrtListener = await startSrtListener({ port: await freeUdpPort() });
    cleanup.push(() => listener.stop());
    const server = new SrtlaServer({
      host: '127.0.0.1',
      port: 0,
      listener: { address: '127.0.0.1', port: listener.port },
      log: createLogger('srtla-test', { level: 'silent' }),
    });
    const srtlaPort = await server.listen();
    cleanup.push(() => server.close());
    const sender: TestSrtlaSender = await startTestSrtlaSender({
      sources: SOURCES,
      receiver: { host: '127.0.0.1', port: srtlaPort },
    });
    cleanup.push(() => sender.close());
    await waitFor(() => sender.links().every((l) => l.up), 5_000, 'every link registered');

    const ffmpeg: SrtPublisher = startFfmpegPublisher({
      url: `srt://127.0.0.1:${sender.port}`,
      bitrateKbps: 1_500,
    });
    cleanup.push(() => ffmpeg.stop());
    await listener.waitForBytes(500_000, 30_000);

    const links = sender.links();
    for (const l of links) {
      expect(l.srt, `${l.source} carried SRT`).toBeGreaterThan(50);
      expect(l.srtlaAcks, `${l.source} got SRTLA ACKs`).toBeGreaterThan(0);
    }
    const [group, ...others] = server.stats();
    expect(others).toEqual([]);
    expect(group?.connections.map((c) => c.address.address).sort()).toEqual(SOURCES);
    for (const c of group?.connections ?? []) {
      expect(c.dataPackets).toBeGreaterThan(50);
      // The listener's ACKs reach every link, which is what keeps each one up on the sender.
      expect(c.srtAcksRouted).toBeGreaterThan(0);
    }
  });

  it('lets the relay agent take a bonded sender on its SRTLA port, pair token inside, links in telemetry', async () => {
    process.env.TELEMY_HOME ??= fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-srtla-'));
    const PAIR = 'PAIRTOKENSRTLA234567';
    const EGRESS = 'EGRESSPASSSRTLA765';
    const WS_TOKEN = 'ws-token-srtla-0123456789';
    const agent = await srtlaAgent({
      sessionId: 'ses_srtla',
      instanceId: 'inst-srtla',
      pairToken: PAIR,
      relayWsToken: WS_TOKEN,
      egressPassphrase: EGRESS,
      ingestLatencyMs: 200,
    });
    cleanup.push(() => agent.close());
    const srtlaPort = agent.addresses.srtlaPort;
    expect(srtlaPort).not.toBeNull();
    const tap = await tapTelemetry(agent.addresses.telemetryPort, WS_TOKEN);
    cleanup.push(async () => tap.close());
    const sender = await startTestSrtlaSender({
      sources: SOURCES,
      receiver: { host: '127.0.0.1', port: srtlaPort as number },
    });
    cleanup.push(() => sender.close());
    await waitFor(() => sender.links().every((l) => l.up), 5_000, 'every link registered');

    const phone = publish(sender.port, PAIR, 200);
    cleanup.push(async () => phone.kill());
    const obs = await subscribe(agent.addresses.egressPort, EGRESS);
    cleanup.push(() => obs.stop());
    await waitFor(() => obs.bytes() > 100_000, 30_000, 'bytes at the OBS-side caller');
    expect(obs.firstByte()).toBe(0x47);

    const stats = await waitFor(
      () =>
        tap.messages.findLast(
          (m) =>
            m.type === 'stats' &&
            (m.links as { protocol: string; bitrate_kbps: number }[]).filter(
              (l) => l.protocol === 'srtla' && l.bitrate_kbps > 0,
            ).length === 3,
        ),
      10_000,
      'stats with three SRTLA links carrying data',
    );
    const parsed = RelayTelemetryMessage.parse(stats);
    if (parsed.type !== 'stats') throw new Error('not stats');
    const rows = parsed.links.filter((l) => l.protocol === 'srtla');
    expect(rows.map((r) => r.source_ip).sort()).toEqual(SOURCES);
    // The bonded links stand in for the listener they feed.
    expect(parsed.links.map((l) => l.link_id)).not.toContain('link1');
    for (const r of rows) {
      expect(r.status).toBe('active');
      expect(r.srtla?.share_pct).toBeGreaterThan(10);
    }
    expect(rows.reduce((a, r) => a + (r.srtla?.share_pct ?? 0), 0)).toBeCloseTo(100, 0);
    expect(parsed.bonded.active_link_count).toBe(3);

    expect(RelayHealthReport.safeParse(agent.healthReport()).success).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${agent.addresses.telemetryPort}/metrics`)).text();
    expect(text).toMatch(/^telemy_relay_srtla_groups 1$/m);
    for (const source of SOURCES) {
      expect(text).toMatch(
        new RegExp(
          `^telemy_relay_srtla_link_share_ratio\\{link="srtla\\d+",source="${source.replaceAll('.', '\\.')}:\\d+"\\} 0\\.\\d+`,
          'm',
        ),
      );
    }
  });

  it('still refuses a bonded sender whose SRT stream carries the wrong passphrase', async () => {
    process.env.TELEMY_HOME ??= fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-srtla-'));
    const agent = await srtlaAgent({
      sessionId: 'ses_srtla_bad',
      instanceId: 'inst-srtla-bad',
      pairToken: 'PAIRTOKENSRTLA234567',
      relayWsToken: 'ws-token-srtla-0123456789',
      egressPassphrase: 'EGRESSPASSSRTLA765',
    });
    cleanup.push(() => agent.close());
    const sender = await startTestSrtlaSender({
      sources: SOURCES,
      receiver: { host: '127.0.0.1', port: agent.addresses.srtlaPort as number },
    });
    cleanup.push(() => sender.close());
    await waitFor(() => sender.links().every((l) => l.up), 5_000, 'every link registered');
    const phone = publish(sender.port, 'WRONGTOKEN9876543210', 200);
    cleanup.push(async () => phone.kill());
    const metrics = `http://127.0.0.1:${agent.addresses.telemetryPort}/metrics`;
    await waitForAsync(
      async () =>
        /^telemy_relay_rejected_callers_total\{listener="link1"\} [1-9]/m.test(
          await (await fetch(metrics)).text(),
        ),
      15_000,
      'the wrong passphrase rejected on link1',
    );
    expect(agent.healthReport().ingest_active).toBe(false);
  });
});
