import type { EventEmitter } from 'node:events';
import { createLogger, errorText, type Logger } from '@telemy/protocol';
import {
  type Bonded,
  type RelayLink,
  type RequestedBy,
  relayReady,
  type Session,
  type StopResult,
  type Usage,
} from './api-schemas.js';
import { buildPairing, type PairingDetails, pairingAvailable } from './pairing.js';
import {
  type CloudApi,
  IrlActivationError,
  RelaySession,
  type RelaySessionOptions,
  type SessionStatus,
  sessionOf,
} from './relay-session.js';
import type { RelaySignal, RelaySignalSink } from './relay-signals.js';
import {
  foldRelay,
  initialRelayState,
  type RelayEvent,
  type RelayState,
  relayUptimeSeconds,
} from './relay-state.js';
import { RelayTelemetryClient, type RelayTelemetryEvents } from './relay-telemetry.js';

export { type CloudApi, IrlActivationError };

/** The part of a telemetry client CloudLink uses; tests substitute a fake. */
export interface TelemetryConnection extends EventEmitter<RelayTelemetryEvents> {
  start(): void;
  stop(): void;
}

export interface CloudLinkOptions extends RelaySessionOptions {
  sink: RelaySignalSink;
  /** Called with the relay's OBS source URL whenever it becomes known or changes. */
  configureObsSource?: (url: string) => Promise<void>;
  createTelemetry?: (url: string, token: string) => TelemetryConnection;
  now?: () => number;
  logger?: Logger;
  /** Why a session's relay is at the address it was given (`relayAddressReason`). */
  relayAddressReason?: (publicIp: string) => string;
}

export interface CloudLinkSnapshot {
  control_plane: { base_url: string; reachable: boolean | null; notice: string | null };
  session: {
    session_id: string;
    status: string;
    region: string | null;
    instance_id: string | null;
    public_ip: string | null;
    srt_port: number | null;
    egress_port: number | null;
    timers: Session['timers'];
    usage: Session['usage'];
  } | null;
  telemetry: {
    connected: boolean;
    ingest_active: boolean | null;
    ingest_state: 'flowing' | 'stalled' | 'unknown';
    relay_uptime_s: number | null;
    egress_clients: number | null;
    last_message_at: number | null;
  };
  links: RelayLink[];
  bonded: Bonded | null;
  time_bank: Usage | null;
  obs_source: { configured: boolean; error: string | null };
  /** Why the last start was refused or the last session ended; null when nothing went wrong. */
  detail: string | null;
  /** Secrets: present only after `revealPairing()`. */
  pairing: ({ revealed: true; available: true } & PairingDetails) | { revealed: false; available: boolean };
}

/** The OBS relay source: the URL it was pointed at, and why the last attempt failed. */
export interface ObsSourceState {
  readonly url: string | null;
  readonly error: string | null;
}

/**
 * CloudLink at one instant as plain data, secrets included: what the engine's views are projected
 * from (`control/relay-view.ts`).
 */
export interface CloudLinkView {
  /** CloudLink's clock when the view was taken. */
  at: number;
  phase: SessionStatus['kind'];
  session: Session | null;
  relay: RelayState;
  usage: Usage | null;
  reachable: boolean | null;
  notice: string | null;
  detail: string | null;
  /** Kept while a session has URLs; a view shows it only while `pairingRevealed`. */
  pairing: PairingDetails | null;
  pairingRevealed: boolean;
  /** The relay address the phone is given and why; null without a relay address. */
  phoneAddress: { host: string; reason: string } | null;
  obsSource: ObsSourceState;
}

/** What CloudLink holds for the current session, beside the control plane's record of it. */
interface SessionSide {
  readonly relay: RelayState;
  /** Built (with its QR code) once the session has URLs; leaves CloudLink only when revealed. */
  readonly pairing: PairingDetails | null;
  readonly obsSource: ObsSourceState;
}

const NO_OBS_SOURCE: ObsSourceState = { url: null, error: null };

function freshSide(lastMessageAt: number | null = null): SessionSide {
  return { relay: initialRelayState(lastMessageAt), pairing: null, obsSource: NO_OBS_SOURCE };
}

/**
 * The engine's link to the cloud: the relay session on the control plane (`RelaySession`), the
 * relay's telemetry WebSocket folded into one `RelayState`, the pairing details and the OBS relay
 * source, and the signals all of them produce for the state machine.
 */
export class CloudLink {
  private readonly opts: CloudLinkOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly session: RelaySession;
  private telemetry: { conn: TelemetryConnection; key: string; sessionId: string } | null = null;
  /** Replaced as a whole: by each telemetry event, and by a fresh one when the session ends. */
  private side: SessionSide = freshSide();
  private revealed = false;

  constructor(opts: CloudLinkOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createLogger('cloudlink');
    this.now = opts.now ?? Date.now;
    this.session = new RelaySession(opts, {
      log: this.log,
      now: this.now,
      emit: (signal) => this.emit(signal),
      hooks: {
        adopted: (s, ready) => this.adopted(s, ready),
        ended: () => {
          this.disconnectTelemetry('session ended');
          this.side = freshSide(this.side.relay.lastMessageAt);
        },
      },
    });
  }

  /** Reconnect-first startup: asks the control plane for a running session and resumes it. Never starts one. */
  init(): Promise<void> {
    return this.session.init();
  }

  /** Starts IRL: one start intent, one idempotency key, whatever the retries underneath. */
  startIrl(requestedBy: RequestedBy): Promise<Session> {
    return this.session.start(requestedBy);
  }

  /**
   * Stops IRL; the session is dropped only once the control plane acknowledged the stop. Returns
   * the acknowledgement (its `stopped_at` is when usage ended), or null when no session ran.
   */
  stopIrl(reason: 'user_requested' | 'shutdown' = 'user_requested'): Promise<StopResult | null> {
    return this.session.stop(reason);
  }

  currentSessionId(): string | null {
    return this.session.current()?.session_id ?? null;
  }

  /** The session as the control plane last described it (with its credentials); null in studio mode. */
  currentSession(): Session | null {
    return this.session.current();
  }

  /** Includes the pairing secrets in `snapshot()` from now on (until `hidePairing()`). */
  async revealPairing(): Promise<PairingDetails | null> {
    this.revealed = true;
    const s = this.session.current();
    if (s) await this.refreshPairing(s);
    return this.side.pairing;
  }

  hidePairing(): void {
    this.revealed = false;
  }

  /** Points the OBS relay source at the relay again now (call it when OBS reconnects). */
  async reconfigureObsSource(): Promise<void> {
    const s = this.session.current();
    if (!s || s.status === 'provisioning' || !relayReady(s)) return;
    this.side = { ...this.side, obsSource: { ...this.side.obsSource, url: null } };
    await this.configureObsSource(s);
  }

  refreshUsage(): Promise<Usage | null> {
    return this.session.refreshUsage();
  }

  view(): CloudLinkView {
    const cp = this.session.view();
    const s = sessionOf(cp.status);
    const host = s?.relay.public_ip;
    return {
      at: this.now(),
      phase: cp.status.kind,
      session: s,
      relay: this.side.relay,
      usage: cp.usage,
      reachable: cp.reachable,
      notice: cp.notice,
      detail: cp.detail,
      pairing: this.side.pairing,
      pairingRevealed: this.revealed,
      phoneAddress: host
        ? { host, reason: this.opts.relayAddressReason?.(host) ?? 'given by the control plane' }
        : null,
      obsSource: this.side.obsSource,
    };
  }

  /** CloudLink as JSON for `/api/state` and the relay feed source: no secrets unless revealed. */
  snapshot(): CloudLinkSnapshot {
    const v = this.view();
    const s = v.session;
    const r = v.relay;
    return {
      control_plane: { base_url: this.opts.api.baseUrl, reachable: v.reachable, notice: v.notice },
      session: s
        ? {
            session_id: s.session_id,
            status: s.status,
            region: s.region,
            instance_id: s.relay.instance_id,
            public_ip: s.relay.public_ip,
            srt_port: s.relay.srt_port,
            egress_port: s.relay.egress_port,
            timers: s.timers,
            usage: s.usage,
          }
        : null,
      telemetry: {
        connected: r.connected,
        ingest_active: r.ingestActive,
        ingest_state: r.ingestState,
        relay_uptime_s: relayUptimeSeconds(r, v.at),
        egress_clients: r.egressClients,
        last_message_at: r.lastMessageAt,
      },
      links: r.links,
      bonded: r.bonded,
      time_bank: v.usage,
      obs_source: { configured: v.obsSource.url !== null, error: v.obsSource.error },
      detail: v.detail,
      pairing:
        v.pairingRevealed && v.pairing
          ? { revealed: true, available: true, ...v.pairing }
          : { revealed: false, available: pairingAvailable(s) },
    };
  }

  /** Stops timers and telemetry. The relay session itself keeps running for the next start. */
  close(): void {
    this.session.close();
    this.disconnectTelemetry('engine closing');
  }

  /** The control plane described the current session: follow its relay. */
  private adopted(s: Session, ready: boolean): void {
    this.fold({ type: 'control_plane', links: s.links, bonded: s.bonded }, s.session_id);
    void this.refreshPairing(s);
    if (!ready) return;
    this.connectTelemetry(s);
    void this.configureObsSource(s);
  }

  private fold(event: RelayEvent, sessionId: string): void {
    const step = foldRelay(this.side.relay, event, sessionId, this.now());
    this.side = { ...this.side, relay: step.state };
    for (const signal of step.signals) this.emit(signal);
  }

  private connectTelemetry(s: Session): void {
    const url = s.relay.ws_url;
    const token = s.credentials.relay_ws_token;
    if (!url || !token) return;
    const key = `${url}\n${token}`;
    if (this.telemetry?.key === key) return;
    this.disconnectTelemetry('relay changed');

    const sessionId = s.session_id;
    const conn =
      this.opts.createTelemetry?.(url, token) ?? new RelayTelemetryClient({ url, token, logger: this.log });
    this.telemetry = { conn, key, sessionId };
    const fold = (event: RelayEvent) => this.fold(event, sessionId);
    conn.on('connected', () => fold({ type: 'connected' }));
    conn.on('disconnected', (d) => fold({ type: 'disconnected', reason: d.reason }));
    conn.on('hello', (m) => {
      fold(m);
      if (m.session_id !== sessionId)
        this.log.warn(
          { expected: sessionId, relay: m.session_id },
          'relay telemetry announces another session',
        );
    });
    conn.on('stats', fold);
    conn.on('ingest', fold);
    conn.on('link_failover', (m) => {
      this.log.info({ from: m.from, to: m.to }, 'relay failed over to another ingest link');
      fold(m);
    });
    conn.start();
  }

  private disconnectTelemetry(why: string): void {
    const t = this.telemetry;
    if (!t) return;
    this.telemetry = null;
    t.conn.removeAllListeners();
    t.conn.stop();
    this.fold({ type: 'closed', reason: why }, t.sessionId);
  }

  private async configureObsSource(s: Session): Promise<void> {
    const url = s.ingest.obs_source_url;
    const configure = this.opts.configureObsSource;
    if (!url || !configure || url === this.side.obsSource.url) return;
    this.setObsSource(s, { url, error: this.side.obsSource.error });
    try {
      await configure(url);
      this.setObsSource(s, { url, error: null });
    } catch (err) {
      // No URL recorded: the next poll tries again.
      const error = errorText(err);
      this.setObsSource(s, { url: null, error });
      this.log.warn({ problem: error }, 'could not configure the OBS relay media source');
    }
  }

  /** Records the OBS source's state unless the session it was for is over. */
  private setObsSource(s: Session, obsSource: ObsSourceState): void {
    if (this.session.current()?.session_id === s.session_id) this.side = { ...this.side, obsSource };
  }

  private async refreshPairing(s: Session): Promise<void> {
    const have = this.side.pairing;
    if (have && have.srt_url === s.ingest.srt_url && have.obs_source_url === s.ingest.obs_source_url) return;
    const pairing = await buildPairing(s);
    if (this.session.current()?.session_id === s.session_id) this.side = { ...this.side, pairing };
  }

  private emit(signal: RelaySignal): void {
    try {
      this.opts.sink.relaySignal(signal);
    } catch (err) {
      this.log.error({ kind: signal.kind, err }, 'relay signal sink threw');
    }
  }
}
