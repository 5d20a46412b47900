import type dgram from 'node:dgram';
import type { Logger, RelayLink } from '@telemy/protocol';
import type { RelayAgentConfig } from './config.js';
import { LinkMeter } from './link-meter.js';
import type { RelayMetrics } from './metrics.js';
import { SrtCallerTracker } from './srt-caller.js';
import { isBadSecret, type SrtLauncher, srtListenerUri, udpBind } from './srt-launch.js';
import { parseSrtStatsLine, type SrtStatsSample } from './srt-stats.js';
import type { SupervisedProcess } from './supervised-process.js';

/** Loss above this marks a link `degraded` (2 % is where SRT's retransmissions start to lose). */
const DEGRADED_LOSS_RATIO = 0.02;

export interface IngestLinkEvents {
  /** A packet from this link's caller, with when it arrived. */
  packet(link: IngestLink, packet: Buffer, at: number): void;
  /** Nothing arrived for `stallAfterMs`. */
  stalled(link: IngestLink, at: number): void;
}

/**
 * One SRT ingest listener (`srt-live-transmit`, passphrase = pair_token) that hands its packets to
 * the agent over loopback UDP: their rate and jitter, the caller's address and SRT statistics, and
 * the stall watch (a silent link gets a fresh listener so its caller can reconnect at once).
 */
export class IngestLink {
  readonly meter: LinkMeter;
  readonly caller = new SrtCallerTracker();
  readonly process: SupervisedProcess;
  connectedAt: number | null = null;
  /** The current `srt-live-transmit` forwarded a packet: a caller got in, whatever its log said. */
  private fed = false;
  private closed = false;
  private srt: SrtStatsSample | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private relistenTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly id: string,
    readonly port: number,
    private readonly socket: dgram.Socket,
    /** The SRT loss window the SRTLA receiver's reordering needs, on the listener it feeds. */
    reorderPackets: number | null,
    private readonly config: RelayAgentConfig,
    srt: SrtLauncher,
    metrics: RelayMetrics,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly events: IngestLinkEvents,
  ) {
    this.meter = new LinkMeter(now());
    this.process = srt.supervise(
      {
        name: `ingest-${id}`,
        onStart: () => {
          this.connectedAt = null;
          this.fed = false;
          this.caller.reset();
        },
        onStdoutLine: (line) => {
          const s = parseSrtStatsLine(line);
          if (s) this.srt = s;
        },
        onStderrLine: (line) => {
          const change = this.caller.line(line);
          if (change === 'accepted') this.connectedAt = now();
          else if (change === 'disconnected') this.connectedAt = null;
          else if (isBadSecret(line)) {
            metrics.rejectedCallers.inc({ listener: id });
            log.warn({ link_id: id }, 'SRT caller rejected: wrong passphrase');
          }
        },
      },
      [
        '-pf:json',
        `-s:${config.statsEveryPackets}`,
        // `note` adds the handshake lines that name the caller's address (SrtCallerTracker).
        '-loglevel:note',
        srtListenerUri(config.bindHost, port, config.pairToken, config.ingestLatencyMs, reorderPackets),
        `udp://127.0.0.1:${socket.address().port}`,
      ],
      config.pairToken,
    );
    socket.on('message', (msg) => this.received(msg));
  }

  static async open(
    id: string,
    port: number,
    reorderPackets: number | null,
    deps: {
      config: RelayAgentConfig;
      srt: SrtLauncher;
      metrics: RelayMetrics;
      log: Logger;
      now: () => number;
      events: IngestLinkEvents;
    },
  ): Promise<IngestLink> {
    const socket = await udpBind('127.0.0.1', 0);
    const { config, srt, metrics, log, now, events } = deps;
    return new IngestLink(id, port, socket, reorderPackets, config, srt, metrics, log, now, events);
  }

  private received(msg: Buffer): void {
    const t = this.now();
    this.fed = true;
    this.meter.packet(msg.length, t);
    if (this.relistenTimer) {
      clearTimeout(this.relistenTimer);
      this.relistenTimer = null;
    }
    if (this.stallTimer) this.stallTimer.refresh();
    else this.stallTimer = setTimeout(() => this.stall(), this.config.stallAfterMs);
    this.events.packet(this, msg, t);
  }

  private stall(): void {
    this.stallTimer = null;
    // A blocked event loop runs this timer before the packets that queued meanwhile. Decide after
    // the poll phase has delivered them (an immediate runs after it): a packet re-arms the timer,
    // so a busy host is not reported as a stall.
    setImmediate(() => {
      if (this.stallTimer === null && !this.closed) this.declareStall();
    });
  }

  private declareStall(): void {
    this.meter.resetArrivals();
    this.events.stalled(this, this.now());
    const { relistenAfterStallMs, stallAfterMs } = this.config;
    if (relistenAfterStallMs <= 0) return;
    this.relistenTimer = setTimeout(
      () => {
        this.relistenTimer = null;
        // Packets, not the log, say a caller was in: the listener may still hold its dead
        // connection until SRT's peer-idle timeout, longer than a phone waits to reconnect.
        if (!this.fed && this.connectedAt === null) return;
        this.log.info(
          { link_id: this.id },
          'ingest link silent: fresh listener so the caller can reconnect at once',
        );
        this.process.recycle();
      },
      Math.max(0, relistenAfterStallMs - stallAfterMs),
    );
  }

  /** Samples the rate meter and exports the link's figures (`live`: its packets are the feed's). */
  sample(t: number, live: boolean, metrics: RelayMetrics): void {
    this.meter.sample(t);
    metrics.linkBitrate.set({ link: this.id }, live ? this.meter.bitrateKbps : 0);
    if (this.srt?.rttMs != null) metrics.linkRtt.set({ link: this.id }, this.srt.rttMs / 1000);
    if (this.srt?.lossRatio != null) metrics.linkLoss.set({ link: this.id }, this.srt.lossRatio);
  }

  /** The link's row in health reports and telemetry. */
  row(live: boolean): RelayLink {
    const loss = this.srt?.lossRatio ?? null;
    return {
      link_id: this.id,
      label: `SRT ingest :${this.port}`,
      source_ip: this.caller.address,
      protocol: 'srt',
      status: !live ? 'disconnected' : loss !== null && loss > DEGRADED_LOSS_RATIO ? 'degraded' : 'active',
      bitrate_kbps: live ? Math.round(this.meter.bitrateKbps) : 0,
      rtt_ms: this.connectedAt !== null ? (this.srt?.rttMs ?? null) : null,
      packet_loss_pct: loss === null ? null : Math.min(100, loss * 100),
      jitter_ms: this.meter.jitterMs,
      connected_at: this.connectedAt === null ? null : new Date(this.connectedAt).toISOString(),
    };
  }

  stopTimers(): void {
    this.closed = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
  }

  closeSocket(): void {
    this.socket.close();
  }
}
