import {
  createLogger,
  type Logger,
  type RelayHealthReport,
  type RelayLink,
  type RelayTelemetryMessage,
} from '@telemy/protocol';
import {
  ingestPortsOf,
  parseRelayConfig,
  type RelayAgentConfig,
  type RelayAgentConfigInput,
} from './config.js';
import { Egress } from './egress.js';
import { type FeedEvent, FeedSelector } from './feed-selector.js';
import { HealthReporter } from './health-reporter.js';
import { IngestLink } from './ingest-link.js';
import { bondedOf, linkRows, recordSrtlaMetrics } from './link-report.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import type { SelfDestructReason } from './self-destruct.js';
import { runShutdownCommand, SelfDestructWatch } from './self-destruct-watch.js';
import { srtLauncher } from './srt-launch.js';
import { SrtlaServer } from './srtla/server.js';
import type { SupervisedProcess } from './supervised-process.js';
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

/** Turns the feed selector's events into metrics, log lines and telemetry messages. */
function feedEventPublisher(metrics: RelayMetrics, log: Logger, telemetry: TelemetryServer) {
  return (events: FeedEvent[]): void => {
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
}

/**
 * Bonded senders reach the first ingest listener through the SRTLA receiver, from loopback unless
 * the listener is bound to one address only.
 */
function srtlaServer(config: RelayAgentConfig, firstListenerPort: number, log: Logger, now: () => number) {
  if (config.srtlaPort === null) return null;
  return new SrtlaServer({
    host: config.bindHost,
    port: config.srtlaPort,
    listener: {
      address: config.bindHost === '0.0.0.0' ? '127.0.0.1' : config.bindHost,
      port: firstListenerPort,
    },
    log,
    now,
  });
}

/**
 * Starts the relay agent: per link an SRT ingest listener (`IngestLink`) whose packets are
 * measured, checked for stalls and, for the selected link, forwarded to the egress listener
 * (`Egress`); the SRTLA receiver for bonded senders; the telemetry/metrics port; health reports;
 * the self-destruct watch.
 */
export async function startRelayAgent(
  input: RelayAgentConfigInput,
  deps: RelayAgentDeps = {},
): Promise<RelayAgent> {
  const config = parseRelayConfig(input);
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger('relay', { level: config.logLevel });
  const metrics = createRelayMetrics();
  const srt = srtLauncher(config.srtLiveTransmitPath, log);
  const ports = ingestPortsOf(config);
  const selector = new FeedSelector(ports.map((_, i) => `link${i + 1}`));
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
      egress_clients: egress.clients,
    }),
  });
  const publish = feedEventPublisher(metrics, log, telemetry);
  const egress = await Egress.open(config, srt, metrics, log);
  let lastIngestAt: number | null = null;
  const events = {
    packet: (link: IngestLink, packet: Buffer, t: number) => {
      lastIngestAt = t;
      const feed: FeedEvent[] = [];
      if (selector.packet(link.id, t, feed)) egress.forward(packet);
      if (feed.length > 0) publish(feed);
    },
    stalled: (link: IngestLink, t: number) => publish(selector.stalled(link.id, t)),
  };
  const links: IngestLink[] = [];
  for (const [i, port] of ports.entries()) {
    // The first listener is the one the SRTLA receiver feeds, with the loss window its reordering needs.
    const reorder = i === 0 && config.srtlaPort !== null ? config.srtlaReorderPackets : null;
    links.push(
      await IngestLink.open(`link${i + 1}`, port, reorder, { config, srt, metrics, log, now, events }),
    );
  }
  const srtla = srtlaServer(config, links[0]?.port as number, log, now);
  const srtlaPort = srtla ? await srtla.listen() : null;
  const telemetryPort = await telemetry.listen();
  for (const l of links) l.process.start();
  egress.process.start();
  const servingSince = now();
  metrics.ingestActive.set(0);
  const uptimeSeconds = () => Math.max(0, Math.floor((now() - servingSince) / 1000));

  const rows = (t: number): RelayLink[] =>
    linkRows(
      links.map((l) => l.row(selector.isLive(l.id))),
      srtla?.stats() ?? [],
      t,
    );
  const healthReport = (): RelayHealthReport => {
    const r = rows(now());
    return {
      session_id: config.sessionId,
      instance_id: config.instanceId,
      ingest_active: selector.ingestActive,
      egress_active: egress.clients > 0,
      session_uptime_seconds: uptimeSeconds(),
      observed_at: new Date(now()).toISOString(),
      links: r,
      bonded: bondedOf(r),
    };
  };

  const statsTimer = setInterval(() => {
    const t = now();
    for (const l of links) l.sample(t, selector.isLive(l.id), metrics);
    metrics.egressClients.set(egress.clients);
    if (srtla) recordSrtlaMetrics(metrics, srtla.stats(), t);
    const r = rows(now());
    const stats: RelayTelemetryMessage = {
      type: 'stats',
      links: r,
      bonded: bondedOf(r),
      ingest_active: selector.ingestActive,
      egress_clients: egress.clients,
      forwarded_link_id: selector.forwarded,
    };
    telemetry.broadcast(stats);
  }, 1_000);

  const watch = new SelfDestructWatch(
    config,
    servingSince,
    now,
    () => lastIngestAt,
    log,
    (reason, detail) => {
      void shutdown({ reason, detail }).then(() => {
        if (config.shutdownCommand) runShutdownCommand(config.shutdownCommand, log);
      });
    },
  );
  const reporter =
    config.controlPlaneUrl && config.relayCredential
      ? new HealthReporter({
          controlPlaneUrl: config.controlPlaneUrl,
          credential: config.relayCredential,
          intervalMs: config.healthIntervalMs,
          body: healthReport,
          onOutcome: (o) => {
            if (watch.healthOutcome(o)) metrics.healthPostFailures.inc();
          },
          log,
        })
      : null;
  reporter?.start();

  let resolveFinished: (e: RelayAgentExit) => void = () => undefined;
  const finished = new Promise<RelayAgentExit>((r) => {
    resolveFinished = r;
  });
  let finishing = false;
  async function shutdown(exit: RelayAgentExit): Promise<void> {
    if (finishing) return;
    finishing = true;
    watch.stop();
    clearInterval(statsTimer);
    reporter?.stop();
    for (const l of links) l.stopTimers();
    await srtla?.close();
    await Promise.all([...links.map((l) => l.process.stop()), egress.process.stop()]);
    for (const l of links) l.closeSocket();
    egress.closeSocket();
    await telemetry.close();
    resolveFinished(exit);
  }

  const ingestPorts = links.map((l) => l.port);
  log.info(
    {
      session_id: config.sessionId,
      instance_id: config.instanceId,
      ingest_ports: ingestPorts,
      egress_port: config.egressPort,
      telemetry_port: telemetryPort,
      srtla_port: srtlaPort,
    },
    'relay agent serving',
  );
  return {
    config,
    addresses: { ingestPorts, egressPort: config.egressPort, telemetryPort, srtlaPort },
    metrics,
    finished,
    healthReport,
    processes: { ingest: links.map((l) => l.process), egress: egress.process },
    close: () => shutdown({ reason: 'closed', detail: 'closed by its owner' }),
  };
}
