import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createLogger, errorText, type Logger } from '@telemy/protocol';
import type { RelayInput, RelayLinkInput } from '../server/dock-state.js';
import {
  type Bonded,
  type RelayLink,
  type RequestedBy,
  relayReady,
  type Session,
  type StopResult,
  type Usage,
} from './api-schemas.js';
import { type ControlPlaneClient, ControlPlaneError } from './control-plane-client.js';
import { buildPairing, type PairingDetails, pairingAvailable } from './pairing.js';
import type { RelaySignal, RelaySignalSink } from './relay-signals.js';
import { RelayTelemetryClient, type RelayTelemetryEvents } from './relay-telemetry.js';

export type CloudApi = Pick<ControlPlaneClient, 'start' | 'stop' | 'active' | 'usage' | 'baseUrl'>;

/** The part of a telemetry client CloudLink uses; tests substitute a fake. */
export interface TelemetryConnection extends EventEmitter<RelayTelemetryEvents> {
  start(): void;
  stop(): void;
}

export interface CloudLinkOptions {
  api: CloudApi;
  sink: RelaySignalSink;
  regionPreference?: string;
  /** The session id the engine persisted before a restart (reconnect-first). */
  restoredSessionId?: string | null;
  /** Reported to the control plane in the start request. */
  obsConnected?: () => boolean;
  /** Called with the relay's OBS source URL whenever it becomes known or changes. */
  configureObsSource?: (url: string) => Promise<void>;
  createTelemetry?: (url: string, token: string) => TelemetryConnection;
  now?: () => number;
  logger?: Logger;
  /** Why a session's relay is at the address it was given (`relayAddressReason`). */
  relayAddressReason?: (publicIp: string) => string;
  /**
   * How often `active()` is polled while provisioning at first (default 500 ms); slower after
   * 10 s and 60 s so a slow cloud launch stays well inside the control plane's rate limit.
   */
  provisioningPollMs?: number;
  /** How often `active()` is polled once the session is up (timers, grace, stop detection). */
  sessionPollMs?: number;
  /** How often the Time Bank is refreshed while a session runs. */
  usagePollMs?: number;
  /** Give up on provisioning after this long (the control plane's own timeout is 300 s). */
  provisioningTimeoutMs?: number;
  /** Retry `active()` this often while the control plane is unreachable. */
  unreachableRetryMs?: number;
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

/** A start refused by the control plane or impossible because it is unreachable. */
export class IrlActivationError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'IrlActivationError';
    this.reason = reason;
  }
}

const UNREACHABLE_NOTICE =
  'Control plane unreachable: IRL cannot be started right now; local monitoring and failover keep running.';

/**
 * The engine's link to the cloud: relay sessions on the control plane, the relay's telemetry
 * WebSocket, and the signals both produce for the state machine. Startup is reconnect-first and
 * never provisions; only `startIrl` does.
 */
export class CloudLink {
  private readonly opts: CloudLinkOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private session: Session | null = null;
  private telemetry: TelemetryConnection | null = null;
  private telemetryKey: string | null = null;
  private telemetryUp = false;
  private ingestActive: boolean | null = null;
  private ingestState: 'flowing' | 'stalled' | 'unknown' = 'unknown';
  /** Relay uptime from its last `hello`, and when that arrived. */
  private relayHello: { uptime_s: number; at: number } | null = null;
  /** True once telemetry stats arrived for this session: links then come from the relay itself. */
  private telemetryLinks = false;
  private forwardedLinkId: string | null = null;
  private egressClients: number | null = null;
  private lastMessageAt: number | null = null;
  private links: RelayLink[] = [];
  private bonded: Bonded | null = null;
  private usage: Usage | null = null;
  private reachable: boolean | null = null;
  private notice: string | null = null;
  private revealed = false;
  /** Kept (with its QR code) while a session has URLs; leaves CloudLink only when revealed. */
  private pairing: PairingDetails | null = null;
  private stopping = false;
  private obsSourceUrl: string | null = null;
  private obsSourceError: string | null = null;
  private detail: string | null = null;
  private provisioningSince: number | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private usageTimer: NodeJS.Timeout | null = null;
  private starting: Promise<Session> | null = null;
  private closed = false;

  constructor(opts: CloudLinkOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createLogger('cloudlink');
    this.now = opts.now ?? Date.now;
  }

  /**
   * Reconnect-first startup: asks the control plane for a running
   * session and resumes it. Never starts one.
   */
  async init(): Promise<void> {
    let found: Session | null;
    try {
      found = await this.opts.api.active();
      this.markReachable();
    } catch (err) {
      this.noteFailure('reconnect-first lookup', err);
      this.schedulePoll(this.opts.unreachableRetryMs ?? 15_000);
      return;
    }
    // The Time Bank is shown in studio mode too: it tells whether IRL can be started at all.
    void this.refreshUsage();
    const restored = this.opts.restoredSessionId ?? null;
    if (!found) {
      if (restored)
        this.log.info({ session_id: restored }, 'persisted relay session is over; staying in studio mode');
      return;
    }
    if (restored && restored !== found.session_id) {
      this.log.warn(
        { persisted: restored, active: found.session_id },
        'control plane reports another session; resuming it',
      );
    }
    this.log.info(
      { session_id: found.session_id, status: found.status },
      'resuming relay session (reconnect-first)',
    );
    this.restore(found);
  }

  /** Takes over a session this engine did not start (reconnect-first, or a replacement found later). */
  private restore(found: Session): void {
    this.emit({
      kind: 'session_accepted',
      session_id: found.session_id,
      status: found.status,
      restored: true,
    });
    this.adopt(found);
    this.startUsagePolling();
  }

  /** Starts IRL: one start intent, one idempotency key, whatever the retries underneath. */
  startIrl(requestedBy: RequestedBy): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    this.starting ??= this.requestStart(requestedBy).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /**
   * Stops IRL; the session is dropped only once the control plane acknowledged the stop. Returns
   * the acknowledgement (its `stopped_at` is when usage ended), or null when no session ran.
   */
  async stopIrl(reason: 'user_requested' | 'shutdown' = 'user_requested'): Promise<StopResult | null> {
    const s = this.session;
    if (!s) return null;
    this.stopping = true;
    let result: StopResult;
    try {
      result = await this.opts.api.stop(s.session_id, reason);
    } finally {
      this.stopping = false;
    }
    this.markReachable();
    this.log.info({ session_id: s.session_id, reason }, 'relay session stopped');
    this.endSession(reason);
    void this.refreshUsage();
    return result;
  }

  currentSessionId(): string | null {
    return this.session?.session_id ?? null;
  }

  /** The session as the control plane last described it (with its credentials); null in studio mode. */
  currentSession(): Session | null {
    return this.session;
  }

  /** Includes the pairing secrets in `snapshot()` from now on (until `hidePairing()`). */
  async revealPairing(): Promise<PairingDetails | null> {
    this.revealed = true;
    if (this.session) await this.refreshPairing(this.session);
    return this.pairing;
  }

  hidePairing(): void {
    this.revealed = false;
  }

  /** Points the OBS relay source at the relay again now (call it when OBS reconnects). */
  async reconfigureObsSource(): Promise<void> {
    const s = this.session;
    if (!s || s.status === 'provisioning' || !relayReady(s)) return;
    this.obsSourceUrl = null;
    await this.configureObsSource(s);
  }

  async refreshUsage(): Promise<Usage | null> {
    try {
      this.usage = await this.opts.api.usage();
      this.markReachable();
    } catch (err) {
      this.noteFailure('time bank refresh', err);
    }
    return this.usage;
  }

  snapshot(): CloudLinkSnapshot {
    const s = this.session;
    return {
      control_plane: { base_url: this.opts.api.baseUrl, reachable: this.reachable, notice: this.notice },
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
        connected: this.telemetryUp,
        ingest_active: this.ingestActive,
        ingest_state: this.ingestState,
        relay_uptime_s: this.relayUptimeSeconds(),
        egress_clients: this.egressClients,
        last_message_at: this.lastMessageAt,
      },
      links: this.links,
      bonded: this.bonded,
      time_bank: this.usage,
      obs_source: { configured: this.obsSourceUrl !== null, error: this.obsSourceError },
      detail: this.detail,
      pairing:
        this.revealed && this.pairing
          ? { revealed: true, available: true, ...this.pairing }
          : { revealed: false, available: pairingAvailable(s) },
    };
  }

  /**
   * The relay part of the dock's inputs. Carries the pairing secrets whenever a session has them:
   * the dock projection shows them only while `pairingRevealed`.
   */
  dockRelayInput(): RelayInput {
    const s = this.session;
    const u = this.usage;
    const rows = this.telemetryLinks || this.links.length > 0 ? this.links : null;
    return {
      status: !s ? 'inactive' : this.stopping ? 'stopping' : s.status === 'stopped' ? 'inactive' : s.status,
      region: s?.region ?? null,
      uptime_s: s ? (this.relayUptimeSeconds() ?? s.usage.duration_seconds) : null,
      latency_ms: this.feedLink()?.rtt_ms ?? null,
      instance: s?.relay.instance_id ?? null,
      grace_remaining_s: s?.timers.grace_remaining_seconds ?? null,
      time_bank: u
        ? { left_s: Math.max(0, u.remaining_seconds), used_s: Math.max(0, u.consumed_seconds) }
        : null,
      pairing: s ? this.pairing : null,
      pairingRevealed: this.revealed,
      phone_address: s?.relay.public_ip ? this.phoneAddress(s.relay.public_ip) : null,
      links: s && rows ? rows.map(linkInput) : null,
      detail: this.detail ?? this.notice,
    };
  }

  private phoneAddress(host: string): { host: string; reason: string } {
    return { host, reason: this.opts.relayAddressReason?.(host) ?? 'given by the control plane' };
  }

  /** The link whose packets reach OBS: the one the relay forwards, else the strongest active one. */
  private feedLink(): RelayLink | null {
    const forwarded = this.links.find((l) => l.link_id === this.forwardedLinkId);
    if (forwarded) return forwarded;
    const active = this.links.filter((l) => l.status !== 'disconnected');
    return active.sort((a, b) => b.bitrate_kbps - a.bitrate_kbps)[0] ?? null;
  }

  /** Stops timers and telemetry. The relay session itself keeps running for the next start. */
  close(): void {
    this.closed = true;
    this.clearPoll();
    if (this.usageTimer) clearInterval(this.usageTimer);
    this.usageTimer = null;
    this.disconnectTelemetry('engine closing');
  }

  private async requestStart(requestedBy: RequestedBy): Promise<Session> {
    const idempotencyKey = randomUUID();
    let started: Awaited<ReturnType<CloudApi['start']>>;
    try {
      started = await this.opts.api.start(
        {
          region_preference: this.opts.regionPreference ?? 'auto',
          requested_by: requestedBy,
          obs_connected: this.opts.obsConnected?.() ?? false,
        },
        idempotencyKey,
      );
      this.markReachable();
    } catch (err) {
      const denial = this.denialOf(err);
      this.detail = `IRL start refused: ${denial.message}`;
      this.emit({ kind: 'session_denied', reason: denial.reason, message: denial.message });
      throw new IrlActivationError(denial.reason, denial.message);
    }
    const s = started.session;
    this.detail = null;
    this.log.info(
      { session_id: s.session_id, status: s.status, created: started.status === 201 },
      'IRL start accepted',
    );
    this.emit({ kind: 'session_accepted', session_id: s.session_id, status: s.status, restored: false });
    this.adopt(s);
    void this.refreshUsage();
    this.startUsagePolling();
    return s;
  }

  private denialOf(err: unknown): { reason: string; message: string } {
    if (err instanceof ControlPlaneError) {
      if (err.unreachable) {
        this.noteFailure('IRL start', err);
        return { reason: 'control_plane_unreachable', message: UNREACHABLE_NOTICE };
      }
      const detailReason = (err.details as { reason?: unknown } | undefined)?.reason;
      return { reason: typeof detailReason === 'string' ? detailReason : err.code, message: err.message };
    }
    return { reason: 'internal_error', message: errorText(err) };
  }

  /** Takes a session from the control plane as the current one and acts on its status. */
  private adopt(s: Session): void {
    const previous = this.session;
    this.session = s;
    // Telemetry stats (every second) are fresher than the control plane's copy.
    if (!this.telemetryUp) {
      this.links = s.links;
      this.bonded = s.bonded;
    }
    void this.refreshPairing(s);

    if (s.status === 'provisioning') {
      this.provisioningSince ??= this.now();
      this.schedulePoll(this.provisioningPollDelay());
      return;
    }
    this.provisioningSince = null;
    if (s.status === 'grace' && previous?.status !== 'grace') {
      this.emit({
        kind: 'grace',
        session_id: s.session_id,
        remaining_seconds: s.timers.grace_remaining_seconds,
      });
    }
    if (relayReady(s)) {
      this.connectTelemetry(s);
      void this.configureObsSource(s);
    }
    this.schedulePoll(relayReady(s) ? (this.opts.sessionPollMs ?? 10_000) : this.provisioningPollDelay());
  }

  private async poll(): Promise<void> {
    this.pollTimer = null;
    if (this.closed) return;
    const current = this.session;
    if (!current && this.reachable !== false) return;
    let found: Session | null;
    try {
      found = await this.opts.api.active();
      this.markReachable();
    } catch (err) {
      this.noteFailure('session poll', err);
      if (!current) {
        this.schedulePoll(this.opts.unreachableRetryMs ?? 15_000);
        return;
      }
      if (current.status === 'provisioning' && this.provisioningExpired())
        return this.provisioningTimedOut(current);
      // The relay serves without the control plane: keep telemetry and ask again later.
      this.schedulePoll(
        current.status === 'provisioning'
          ? this.provisioningPollDelay()
          : (this.opts.unreachableRetryMs ?? 15_000),
      );
      return;
    }
    if (this.closed || this.session !== current) return;

    if (!current) {
      // Reconnect-first lookup that failed at startup, now answered.
      if (found) this.restore(found);
      return;
    }
    if (!found || found.session_id !== current.session_id || found.status === 'stopped') {
      this.log.warn(
        { session_id: current.session_id },
        'relay session no longer active on the control plane',
      );
      this.detail = 'the control plane ended the relay session';
      this.endSession('stopped_by_control_plane');
      if (found && found.status !== 'stopped') this.restore(found);
      return;
    }
    if (found.status === 'provisioning' && this.provisioningExpired())
      return this.provisioningTimedOut(found);
    this.adopt(found);
  }

  private provisioningPollDelay(): number {
    const base = this.opts.provisioningPollMs ?? 500;
    const elapsed = this.provisioningSince === null ? 0 : this.now() - this.provisioningSince;
    if (elapsed < 10_000) return base;
    return Math.max(base, elapsed < 60_000 ? 2_000 : 5_000);
  }

  private provisioningExpired(): boolean {
    return (
      this.provisioningSince !== null &&
      this.now() - this.provisioningSince >= (this.opts.provisioningTimeoutMs ?? 330_000)
    );
  }

  private provisioningTimedOut(s: Session): void {
    this.log.warn({ session_id: s.session_id }, 'relay provisioning timed out; stopping the session');
    this.detail = 'the relay did not come up in time; the session was stopped';
    this.emit({ kind: 'session_timeout', session_id: s.session_id });
    this.endSession('provisioning_timeout', false);
    this.opts.api.stop(s.session_id, 'error_recovery').catch((err: unknown) => {
      this.noteFailure('stop after provisioning timeout', err);
    });
  }

  private endSession(reason: string, signal = true): void {
    const s = this.session;
    this.clearPoll();
    this.disconnectTelemetry('session ended');
    this.session = null;
    this.provisioningSince = null;
    this.links = [];
    this.bonded = null;
    this.ingestActive = null;
    this.ingestState = 'unknown';
    this.relayHello = null;
    this.telemetryLinks = false;
    this.forwardedLinkId = null;
    this.egressClients = null;
    this.pairing = null;
    this.obsSourceUrl = null;
    this.obsSourceError = null;
    if (this.usageTimer) clearInterval(this.usageTimer);
    this.usageTimer = null;
    if (s && signal) this.emit({ kind: 'session_ended', session_id: s.session_id, reason });
  }

  private connectTelemetry(s: Session): void {
    const url = s.relay.ws_url;
    const token = s.credentials.relay_ws_token;
    if (!url || !token) return;
    const key = `${url}\n${token}`;
    if (this.telemetry && this.telemetryKey === key) return;
    this.disconnectTelemetry('relay changed');

    const sessionId = s.session_id;
    const t =
      this.opts.createTelemetry?.(url, token) ?? new RelayTelemetryClient({ url, token, logger: this.log });
    this.telemetry = t;
    this.telemetryKey = key;
    t.on('connected', () => {
      this.telemetryUp = true;
      this.lastMessageAt = this.now();
      this.emit({ kind: 'telemetry_connected', session_id: sessionId });
    });
    t.on('disconnected', (d) => {
      this.ingestActive = null;
      if (!this.telemetryUp) return;
      this.telemetryUp = false;
      this.emit({ kind: 'telemetry_disconnected', session_id: sessionId, reason: d.reason });
    });
    t.on('hello', (m) => {
      this.lastMessageAt = this.now();
      this.relayHello = { uptime_s: m.uptime_s, at: this.now() };
      if (m.session_id !== sessionId) {
        this.log.warn(
          { expected: sessionId, relay: m.session_id },
          'relay telemetry announces another session',
        );
      }
    });
    t.on('stats', (m) => {
      this.lastMessageAt = this.now();
      this.links = m.links;
      this.telemetryLinks = true;
      this.forwardedLinkId = m.forwarded_link_id;
      this.bonded = m.bonded;
      this.egressClients = m.egress_clients;
      if (m.ingest_active !== this.ingestActive) {
        this.ingestActive = m.ingest_active;
        if (m.ingest_active && this.ingestState !== 'stalled') this.ingestState = 'flowing';
        this.emit({ kind: m.ingest_active ? 'ingest_active' : 'ingest_inactive', session_id: sessionId });
      }
    });
    t.on('ingest', (m) => {
      const receivedAt = this.now();
      this.lastMessageAt = receivedAt;
      this.ingestState = m.state === 'stalled' ? 'stalled' : 'flowing';
      this.emit({
        kind: m.state === 'stalled' ? 'ingest_stalled' : 'ingest_resumed',
        session_id: sessionId,
        link_id: m.link_id,
        at: m.at,
        received_at: receivedAt,
      });
    });
    t.on('link_failover', (m) => {
      this.lastMessageAt = this.now();
      this.log.info({ from: m.from, to: m.to }, 'relay failed over to another ingest link');
      this.emit({ kind: 'link_failover', session_id: sessionId, from: m.from, to: m.to });
    });
    t.start();
  }

  private disconnectTelemetry(why: string): void {
    const t = this.telemetry;
    if (!t) return;
    const sessionId = this.session?.session_id;
    this.telemetry = null;
    this.telemetryKey = null;
    t.removeAllListeners();
    t.stop();
    if (this.telemetryUp && sessionId) {
      this.telemetryUp = false;
      this.emit({ kind: 'telemetry_disconnected', session_id: sessionId, reason: why });
    }
    this.telemetryUp = false;
  }

  private async configureObsSource(s: Session): Promise<void> {
    const url = s.ingest.obs_source_url;
    const configure = this.opts.configureObsSource;
    if (!url || !configure || url === this.obsSourceUrl) return;
    this.obsSourceUrl = url;
    try {
      await configure(url);
      this.obsSourceError = null;
    } catch (err) {
      // Allow the next poll to try again.
      this.obsSourceUrl = null;
      this.obsSourceError = errorText(err);
      this.log.warn({ problem: this.obsSourceError }, 'could not configure the OBS relay media source');
    }
  }

  private async refreshPairing(s: Session): Promise<void> {
    const have = this.pairing;
    if (have && have.srt_url === s.ingest.srt_url && have.obs_source_url === s.ingest.obs_source_url) return;
    const p = await buildPairing(s);
    if (this.session?.session_id === s.session_id) this.pairing = p;
  }

  private relayUptimeSeconds(): number | null {
    const h = this.relayHello;
    return h ? h.uptime_s + Math.max(0, this.now() - h.at) / 1000 : null;
  }

  private startUsagePolling(): void {
    if (this.usageTimer || this.closed) return;
    this.usageTimer = setInterval(() => void this.refreshUsage(), this.opts.usagePollMs ?? 60_000);
    this.usageTimer.unref();
  }

  private schedulePoll(ms: number): void {
    if (this.closed) return;
    this.clearPoll();
    this.pollTimer = setTimeout(() => void this.poll(), ms);
    this.pollTimer.unref();
  }

  private clearPoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  private markReachable(): void {
    if (this.reachable === false) this.log.info('control plane reachable again');
    this.reachable = true;
    this.notice = null;
  }

  private noteFailure(what: string, err: unknown): void {
    if (err instanceof ControlPlaneError && err.unreachable) {
      if (this.reachable !== false) this.log.warn({ err }, `${what}: control plane unreachable`);
      this.reachable = false;
      this.notice = UNREACHABLE_NOTICE;
      return;
    }
    this.log.warn({ err }, `${what} failed`);
  }

  private emit(signal: RelaySignal): void {
    try {
      this.opts.sink.relaySignal(signal);
    } catch (err) {
      this.log.error({ kind: signal.kind, err }, 'relay signal sink threw');
    }
  }
}

function linkInput(l: RelayLink): RelayLinkInput {
  return {
    label: l.label || l.link_id,
    status: l.status,
    bitrate_kbps: l.bitrate_kbps,
    rtt_ms: l.rtt_ms,
    loss_pct: l.packet_loss_pct,
    jitter_ms: l.jitter_ms,
  };
}
