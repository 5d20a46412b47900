import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import {
  createLogger,
  type Logger,
  type RelayBonded,
  type RelayHealthReport,
  type RelayLink,
  type RelayTelemetryMessage,
} from '@telemy/protocol';
import { argvSecrets } from './argv-secrets.js';
import {
  ingestPortsOf,
  parseRelayConfig,
  type RelayAgentConfig,
  type RelayAgentConfigInput,
} from './config.js';
import { type FeedEvent, FeedSelector } from './feed-selector.js';
import { type HealthOutcome, HealthReporter } from './health-reporter.js';
import { LinkMeter } from './link-meter.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { parentDeathLauncher } from './parent-death.js';
import { decideSelfDestruct, type SelfDestructReason } from './self-destruct.js';
import { SrtCallerTracker } from './srt-caller.js';
import { parseSrtStatsLine, type SrtStatsSample } from './srt-stats.js';
import { SrtlaServer } from './srtla/server.js';
import { SupervisedProcess } from './supervised-process.js';
import { TelemetryServer } from './telemetry-server.js';

export interface RelayAgentDeps {
  log?: Logger;
  now?: () => number;
}

export interface RelayAgentAddresses {
  ingestPorts: number[];
  egressPort: number;
  telemetryPort: number;
  /** The SRTLA receiver's UDP port, null when SRTLA is off. */
  srtlaPort: number | null;
}

export interface RelayAgentExit {
  reason: SelfDestructReason | 'closed';
  detail: string;
}

/** Loss above this marks a link `degraded` (2 % is where SRT's retransmissions start to lose). */
const DEGRADED_LOSS_RATIO = 0.02;
/** Bonding senders keep idle links alive once a second: longer silence means a failing link. */
const SRTLA_SILENT_MS = 2_500;
/** Health reports carry at most this many link rows. */
const MAX_LINK_ROWS = 16;

interface Link {
  id: string;
  port: number;
  socket: dgram.Socket;
  process: SupervisedProcess;
  meter: LinkMeter;
  stallTimer: NodeJS.Timeout | null;
  relistenTimer: NodeJS.Timeout | null;
  connectedAt: number | null;
  /** The current `srt-live-transmit` forwarded a packet: a caller got in, whatever its log said. */
  fed: boolean;
  caller: SrtCallerTracker;
  srt: SrtStatsSample | null;
}

export interface RelayAgent {
  readonly config: RelayAgentConfig;
  readonly addresses: RelayAgentAddresses;
  readonly metrics: RelayMetrics;
  /** Resolves once the agent stopped: self-destruct (with its reason) or `close()`. */
  readonly finished: Promise<RelayAgentExit>;
  healthReport(): RelayHealthReport;
  /** Test hooks: the supervised `srt-live-transmit` children. */
  readonly processes: { ingest: SupervisedProcess[]; egress: SupervisedProcess };
  close(): Promise<void>;
}

function udpBind(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function srtListenerUri(
  host: string,
  port: number,
  passphrase: string,
  latencyMs: number | null = null,
  reorderPackets: number | null = null,
): string {
  const h = host === '0.0.0.0' ? '' : host;
  const latency = latencyMs === null ? '' : `&latency=${latencyMs}`;
  const reorder = reorderPackets === null ? '' : `&lossmaxttl=${reorderPackets}`;
  return `srt://${h}:${port}?mode=listener&passphrase=${encodeURIComponent(passphrase)}${latency}${reorder}`;
}

/**
 * Starts the relay agent: per link an SRT ingest listener (`srt-live-transmit`,
 * passphrase = pair_token) that hands packets to this process over loopback UDP, where they are
 * measured, checked for stalls and the selected link's packets forwarded to the egress listener;
 * the telemetry/metrics port; health reports; the self-destruct watch.
 */
export async function startRelayAgent(
  input: RelayAgentConfigInput,
  deps: RelayAgentDeps = {},
): Promise<RelayAgent> {
  const config = parseRelayConfig(input);
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger('relay', { level: config.logLevel });
  const metrics = createRelayMetrics();
  const srtBin = config.srtLiveTransmitPath;
  if (spawnSync(srtBin, ['-version'], { stdio: 'ignore' }).error) {
    throw new Error(
      `${srtBin} not found: the relay moves media with it (Debian: apt-get install -y srt-tools, or set TELEMY_RELAY_SRT_LIVE_TRANSMIT)`,
    );
  }
  const launcher = parentDeathLauncher();
  if (!launcher.setpriv) {
    log.warn(
      'setpriv --pdeathsig unavailable (util-linux): srt-live-transmit children would outlive a killed agent',
    );
  }
  // Passphrases reach srt-live-transmit through its environment, not its command line (`ps`).
  const secrets = argvSecrets({ log });
  const linkIds = ingestPortsOf(config).map((_, i) => `link${i + 1}`);
  const selector = new FeedSelector(linkIds);
  let egressClients = 0;
  let lastIngestAt: number | null = null;
  let lastContactAt: number | null = null;
  let sessionEndedStatus: number | null = null;
  let finishing = false;
  let resolveFinished: (e: RelayAgentExit) => void = () => undefined;
  const finished = new Promise<RelayAgentExit>((r) => {
    resolveFinished = r;
  });

  const telemetry = new TelemetryServer({
    host: config.bindHost,
    port: config.telemetryPort,
    token: config.relayWsToken,
    metrics,
    log,
    hello: () => ({ type: 'hello', session_id: config.sessionId, uptime_s: uptimeSeconds() }),
    healthz: () => ({
      status: 'ok',
      session_id: config.sessionId,
      instance_id: config.instanceId,
      uptime_s: uptimeSeconds(),
      ingest_active: selector.ingestActive,
      egress_clients: egressClients,
    }),
  });

  const publish = (events: FeedEvent[]): void => {
    for (const e of events) {
      const at = new Date(e.at).toISOString();
      if (e.type === 'ingest') {
        if (e.state === 'stalled') metrics.stalls.inc();
        metrics.ingestActive.set(e.state === 'resumed' ? 1 : 0);
        log.info({ link_id: e.link_id }, `ingest ${e.state}`);
        telemetry.broadcast({ type: 'ingest', state: e.state, link_id: e.link_id, at });
      } else {
        metrics.failovers.inc();
        log.warn({ from: e.from, to: e.to }, 'link failover');
        telemetry.broadcast({ type: 'link_failover', from: e.from, to: e.to, at });
      }
    }
  };

  const egressSocket = await udpBind('127.0.0.1', 0);
  const egressInputPort = await (async () => {
    const probe = await udpBind('127.0.0.1', 0);
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    return port;
  })();

  const links: Link[] = [];
  for (const [i, port] of ingestPortsOf(config).entries()) {
    const id = linkIds[i] as string;
    const socket = await udpBind('127.0.0.1', 0);
    const link: Link = {
      id,
      port,
      socket,
      meter: new LinkMeter(now()),
      stallTimer: null,
      relistenTimer: null,
      connectedAt: null,
      fed: false,
      caller: new SrtCallerTracker(),
      srt: null,
      process: new SupervisedProcess({
        name: `ingest-${id}`,
        ...secrets.hide(
          launcher.wrap(srtBin, [
            '-pf:json',
            `-s:${config.statsEveryPackets}`,
            // `note` adds the handshake lines that name the caller's address (SrtCallerTracker).
            '-loglevel:note',
            srtListenerUri(
              config.bindHost,
              port,
              config.pairToken,
              config.ingestLatencyMs,
              i === 0 && config.srtlaPort !== null ? config.srtlaReorderPackets : null,
            ),
            `udp://127.0.0.1:${socket.address().port}`,
          ]),
          srtBin,
          config.pairToken,
        ),
        log,
        onStart: () => {
          link.connectedAt = null;
          link.fed = false;
          link.caller.reset();
        },
        onStdoutLine: (line) => {
          const s = parseSrtStatsLine(line);
          if (s) link.srt = s;
        },
        onStderrLine: (line) => {
          const change = link.caller.line(line);
          if (change === 'accepted') link.connectedAt = now();
          else if (change === 'disconnected') link.connectedAt = null;
          else if (/connection rejected due to:.*BADSECRET/.test(line)) {
            metrics.rejectedCallers.inc({ listener: id });
            log.warn({ link_id: id }, 'SRT caller rejected: wrong passphrase');
          }
        },
      }),
    };
    socket.on('message', (msg) => {
      const t = now();
      lastIngestAt = t;
      link.fed = true;
      link.meter.packet(msg.length, t);
      if (link.relistenTimer) {
        clearTimeout(link.relistenTimer);
        link.relistenTimer = null;
      }
      if (link.stallTimer) link.stallTimer.refresh();
      else link.stallTimer = setTimeout(() => onStall(link), config.stallAfterMs);
      const events: FeedEvent[] = [];
      if (selector.packet(id, t, events)) egressSocket.send(msg, egressInputPort, '127.0.0.1');
      if (events.length > 0) publish(events);
    });
    links.push(link);
  }

  function onStall(link: Link): void {
    link.stallTimer = null;
    // A blocked event loop runs this timer before the packets that queued meanwhile. Decide after
    // the poll phase has delivered them (an immediate runs after it): a packet re-arms the timer,
    // so a busy host is not reported as a stall.
    setImmediate(() => {
      if (link.stallTimer === null && !finishing) declareStall(link);
    });
  }

  function declareStall(link: Link): void {
    link.meter.resetArrivals();
    publish(selector.stalled(link.id, now()));
    const relistenIn = config.relistenAfterStallMs - config.stallAfterMs;
    if (config.relistenAfterStallMs > 0) {
      link.relistenTimer = setTimeout(
        () => {
          link.relistenTimer = null;
          // Packets, not the log, say a caller was in: the listener may still hold its dead
          // connection until SRT's peer-idle timeout, longer than a phone waits to reconnect.
          if (!link.fed && link.connectedAt === null) return;
          log.info(
            { link_id: link.id },
            'ingest link silent: fresh listener so the caller can reconnect at once',
          );
          link.process.recycle();
        },
        Math.max(0, relistenIn),
      );
    }
  }

  const egress = new SupervisedProcess({
    name: 'egress',
    ...secrets.hide(
      launcher.wrap(srtBin, [
        `udp://127.0.0.1:${egressInputPort}`,
        srtListenerUri(config.bindHost, config.egressPort, config.egressPassphrase),
      ]),
      srtBin,
      config.egressPassphrase,
    ),
    log,
    onStart: () => {
      egressClients = 0;
    },
    onStderrLine: (line) => {
      if (line.includes('Accepted SRT target connection')) egressClients = 1;
      else if (line.includes('SRT target disconnected')) egressClients = 0;
      else if (/connection rejected due to:.*BADSECRET/.test(line)) {
        metrics.rejectedCallers.inc({ listener: 'egress' });
        log.warn('SRT egress caller rejected: wrong passphrase');
      }
    },
  });

  // Bonded senders reach the first ingest listener through the SRTLA receiver, from loopback
  // unless the listener is bound to one address only.
  const srtla =
    config.srtlaPort === null
      ? null
      : new SrtlaServer({
          host: config.bindHost,
          port: config.srtlaPort,
          listener: {
            address: config.bindHost === '0.0.0.0' ? '127.0.0.1' : config.bindHost,
            port: links[0]?.port as number,
          },
          log,
          now,
        });
  const srtlaPort = srtla ? await srtla.listen() : null;
  const telemetryPort = await telemetry.listen();
  for (const l of links) l.process.start();
  egress.start();
  const servingSince = now();
  metrics.ingestActive.set(0);

  function uptimeSeconds(): number {
    return Math.max(0, Math.floor((now() - servingSince) / 1000));
  }

  function linkRow(l: Link): RelayLink {
    const live = selector.isLive(l.id);
    const loss = l.srt?.lossRatio ?? null;
    return {
      link_id: l.id,
      label: `SRT ingest :${l.port}`,
      source_ip: l.caller.address,
      protocol: 'srt',
      status: !live ? 'disconnected' : loss !== null && loss > DEGRADED_LOSS_RATIO ? 'degraded' : 'active',
      bitrate_kbps: live ? Math.round(l.meter.bitrateKbps) : 0,
      rtt_ms: l.connectedAt !== null ? (l.srt?.rttMs ?? null) : null,
      packet_loss_pct: loss === null ? null : Math.min(100, loss * 100),
      jitter_ms: l.meter.jitterMs,
      connected_at: l.connectedAt === null ? null : new Date(l.connectedAt).toISOString(),
    };
  }

  /** One row per SRTLA connection; together they are the feed of the first ingest listener. */
  function srtlaRows(t: number): RelayLink[] {
    if (!srtla) return [];
    const iso = (ms: number) => new Date(ms).toISOString();
    return srtla.stats().flatMap((g) =>
      g.connections.map(
        (c): RelayLink => ({
          link_id: `srtla${c.id}`,
          label: `SRTLA ${c.address.address}:${c.address.port}`,
          source_ip: c.address.address,
          protocol: 'srtla',
          status: t - c.lastPacketAt > SRTLA_SILENT_MS ? 'degraded' : 'active',
          bitrate_kbps: Math.round(c.bitrateKbps),
          rtt_ms: null,
          packet_loss_pct: null,
          jitter_ms: null,
          connected_at: iso(c.registeredAt),
          srtla: {
            share_pct: c.share * 100,
            naks: c.naksRouted,
            retransmits: c.retransmits,
            last_packet_at: iso(c.lastPacketAt),
          },
        }),
      ),
    );
  }

  /** While a bonded sender is connected its links stand in for the listener it feeds. */
  function linkRows(): RelayLink[] {
    const bonded = srtlaRows(now());
    const plain = links.filter((_, i) => i > 0 || bonded.length === 0).map(linkRow);
    return [...plain, ...bonded].slice(0, MAX_LINK_ROWS);
  }

  function bondedOf(rows: RelayLink[]): RelayBonded {
    const active = rows.filter((r) => r.status !== 'disconnected');
    return {
      total_bitrate_kbps: active.reduce((s, r) => s + r.bitrate_kbps, 0),
      active_link_count: active.length,
      health:
        active.length === 0
          ? 'critical'
          : active.some((r) => r.status === 'degraded')
            ? 'degraded'
            : 'healthy',
    };
  }

  function healthReport(): RelayHealthReport {
    const rows = linkRows();
    return {
      session_id: config.sessionId,
      instance_id: config.instanceId,
      ingest_active: selector.ingestActive,
      egress_active: egressClients > 0,
      session_uptime_seconds: uptimeSeconds(),
      observed_at: new Date(now()).toISOString(),
      links: rows,
      bonded: bondedOf(rows),
    };
  }

  const statsTimer = setInterval(() => {
    const t = now();
    for (const l of links) {
      l.meter.sample(t);
      metrics.linkBitrate.set({ link: l.id }, selector.isLive(l.id) ? l.meter.bitrateKbps : 0);
      if (l.srt?.rttMs != null) metrics.linkRtt.set({ link: l.id }, l.srt.rttMs / 1000);
      if (l.srt?.lossRatio != null) metrics.linkLoss.set({ link: l.id }, l.srt.lossRatio);
    }
    metrics.egressClients.set(egressClients);
    if (srtla) recordSrtlaMetrics(t);
    const rows = linkRows();
    const stats: RelayTelemetryMessage = {
      type: 'stats',
      links: rows,
      bonded: bondedOf(rows),
      ingest_active: selector.ingestActive,
      egress_clients: egressClients,
      forwarded_link_id: selector.forwarded,
    };
    telemetry.broadcast(stats);
  }, 1_000);

  function recordSrtlaMetrics(t: number): void {
    const groups = srtla?.stats() ?? [];
    metrics.srtlaGroups.set(groups.length);
    // Connections come and go (a NAT rebinding is a new one): only the current ones are exported.
    for (const g of [
      metrics.srtlaLinkBitrate,
      metrics.srtlaLinkShare,
      metrics.srtlaLinkNaks,
      metrics.srtlaLinkSilence,
    ])
      g.reset();
    for (const c of groups.flatMap((g) => g.connections)) {
      const labels = { link: `srtla${c.id}`, source: `${c.address.address}:${c.address.port}` };
      metrics.srtlaLinkBitrate.set(labels, c.bitrateKbps);
      metrics.srtlaLinkShare.set(labels, c.share);
      metrics.srtlaLinkNaks.set(labels, c.naksRouted);
      metrics.srtlaLinkSilence.set(labels, Math.max(0, t - c.lastPacketAt) / 1000);
    }
  }

  const onHealth = (o: HealthOutcome): void => {
    if (o.kind === 'ok') lastContactAt = now();
    else if (o.kind === 'session_ended') {
      sessionEndedStatus = o.status;
      checkSelfDestruct();
    } else metrics.healthPostFailures.inc();
  };
  const reporter =
    config.controlPlaneUrl && config.relayCredential
      ? new HealthReporter({
          controlPlaneUrl: config.controlPlaneUrl,
          credential: config.relayCredential,
          intervalMs: config.healthIntervalMs,
          body: healthReport,
          onOutcome: onHealth,
          log,
        })
      : null;
  reporter?.start();

  function checkSelfDestruct(): void {
    if (finishing) return;
    const decision = decideSelfDestruct(
      {
        now: now(),
        servingSince,
        lastControlPlaneContactAt: lastContactAt,
        sessionEndedStatus,
        lastIngestAt,
      },
      {
        maxSessionSeconds: config.maxSessionSeconds,
        orphanAfterS: config.orphanAfterS,
        idleAfterS: config.idleAfterS,
      },
    );
    if (!decision.destroy) return;
    log.warn(
      { reason: decision.reason, detail: decision.detail },
      `self-destruct: ${decision.reason}: ${decision.detail}`,
    );
    void shutdown({ reason: decision.reason, detail: decision.detail }).then(() => {
      if (config.shutdownCommand) runShutdownCommand(config.shutdownCommand, log);
    });
  }
  const destructTimer = setInterval(checkSelfDestruct, 1_000);

  async function shutdown(exit: RelayAgentExit): Promise<void> {
    if (finishing) return;
    finishing = true;
    clearInterval(statsTimer);
    clearInterval(destructTimer);
    reporter?.stop();
    for (const l of links) {
      if (l.stallTimer) clearTimeout(l.stallTimer);
      if (l.relistenTimer) clearTimeout(l.relistenTimer);
    }
    await srtla?.close();
    await Promise.all([...links.map((l) => l.process.stop()), egress.stop()]);
    for (const l of links) l.socket.close();
    egressSocket.close();
    await telemetry.close();
    resolveFinished(exit);
  }

  log.info(
    {
      session_id: config.sessionId,
      instance_id: config.instanceId,
      ingest_ports: links.map((l) => l.port),
      egress_port: config.egressPort,
      telemetry_port: telemetryPort,
      srtla_port: srtlaPort,
    },
    'relay agent serving',
  );

  return {
    config,
    addresses: {
      ingestPorts: links.map((l) => l.port),
      egressPort: config.egressPort,
      telemetryPort,
      srtlaPort,
    },
    metrics,
    finished,
    healthReport,
    processes: { ingest: links.map((l) => l.process), egress },
    close: () => shutdown({ reason: 'closed', detail: 'closed by its owner' }),
  };
}

function runShutdownCommand(command: string, log: Logger): void {
  log.warn({ command }, 'running the shutdown command');
  const child = spawn('sh', ['-c', command], { stdio: 'ignore' });
  child.on('error', (e) => log.error({ err: e.message }, 'shutdown command failed to start'));
  child.on('exit', (code) => {
    if (code !== 0) log.error({ code }, 'shutdown command failed');
  });
}
