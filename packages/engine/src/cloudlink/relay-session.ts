import { randomUUID } from 'node:crypto';
import { errorText, type Logger } from '@telemy/protocol';
import { type RequestedBy, relayReady, type Session, type StopResult, type Usage } from './api-schemas.js';
import { type ControlPlaneClient, ControlPlaneError } from './control-plane-client.js';
import type { RelaySignal } from './relay-signals.js';

export type CloudApi = Pick<ControlPlaneClient, 'start' | 'stop' | 'active' | 'usage' | 'baseUrl'>;

/**
 * Where the engine's relay session stands. `starting`: a start request is with the control plane
 * and no session is known yet; `ending`: the control plane is asked to stop the session, which
 * stays current until it acknowledges.
 */
export type SessionStatus =
  | { readonly kind: 'idle' }
  | { readonly kind: 'starting'; readonly request: Promise<Session> }
  | {
      readonly kind: 'active' | 'ending';
      /** As the control plane last described it, credentials included. */
      readonly session: Session;
      /** When the session was first seen provisioning; null once it is past that. */
      readonly provisioningSince: number | null;
    };

export const IDLE: SessionStatus = { kind: 'idle' };

export function sessionOf(status: SessionStatus): Session | null {
  return status.kind === 'active' || status.kind === 'ending' ? status.session : null;
}

/** What the control-plane side knows right now, as plain data. */
export interface RelaySessionView {
  status: SessionStatus;
  usage: Usage | null;
  reachable: boolean | null;
  notice: string | null;
  /** Why the last start was refused or the last session ended; null when nothing went wrong. */
  detail: string | null;
}

export interface RelaySessionOptions {
  api: CloudApi;
  regionPreference?: string;
  /** The session id the engine persisted before a restart (reconnect-first). */
  restoredSessionId?: string | null;
  /** Reported to the control plane in the start request. */
  obsConnected?: () => boolean;
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

/** What the relay side (CloudLink) does when the session changes. */
export interface SessionHooks {
  /** The control plane described the current session; `ready`: the relay can be reached. */
  adopted(s: Session, ready: boolean): void;
  /** The session is over: release what belongs to it. Runs before `session_ended` is signalled. */
  ended(s: Session): void;
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
 * The relay session as the control plane keeps it: reconnect-first lookup, start and stop, the
 * polls that follow it through provisioning, grace and its end, and the Time Bank. Startup never
 * provisions; only `start()` does.
 */
export class RelaySession {
  private status: SessionStatus = IDLE;
  private usage: Usage | null = null;
  private reachable: boolean | null = null;
  private notice: string | null = null;
  private detail: string | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private usageTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly opts: RelaySessionOptions,
    private readonly deps: {
      log: Logger;
      now: () => number;
      emit: (signal: RelaySignal) => void;
      hooks: SessionHooks;
    },
  ) {}

  view(): RelaySessionView {
    return {
      status: this.status,
      usage: this.usage,
      reachable: this.reachable,
      notice: this.notice,
      detail: this.detail,
    };
  }

  current(): Session | null {
    return sessionOf(this.status);
  }

  /** Reconnect-first startup: asks the control plane for a running session and resumes it. */
  async init(): Promise<void> {
    const { log } = this.deps;
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
        log.info({ session_id: restored }, 'persisted relay session is over; staying in studio mode');
      return;
    }
    if (restored && restored !== found.session_id) {
      log.warn(
        { persisted: restored, active: found.session_id },
        'control plane reports another session; resuming it',
      );
    }
    log.info(
      { session_id: found.session_id, status: found.status },
      'resuming relay session (reconnect-first)',
    );
    this.restore(found);
  }

  /** One start intent, one idempotency key, whatever the retries underneath. */
  start(requestedBy: RequestedBy): Promise<Session> {
    const st = this.status;
    if (st.kind === 'starting') return st.request;
    if (st.kind !== 'idle') return Promise.resolve(st.session);
    const request = this.requestStart(requestedBy);
    this.status = { kind: 'starting', request };
    return request;
  }

  /** Ends the session once the control plane acknowledged the stop; a failed stop keeps it. */
  async stop(reason: 'user_requested' | 'shutdown'): Promise<StopResult | null> {
    const st = this.status;
    if (st.kind !== 'active' && st.kind !== 'ending') return null;
    const s = st.session;
    this.status = { ...st, kind: 'ending' };
    let result: StopResult;
    try {
      result = await this.opts.api.stop(s.session_id, reason);
    } catch (err) {
      if (this.status.kind === 'ending') this.status = { ...this.status, kind: 'active' };
      throw err;
    }
    this.markReachable();
    this.deps.log.info({ session_id: s.session_id, reason }, 'relay session stopped');
    if (this.current()?.session_id === s.session_id) this.end(reason);
    void this.refreshUsage();
    return result;
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

  /** Stops the timers. The session itself keeps running on the control plane. */
  close(): void {
    this.closed = true;
    this.clearPoll();
    this.stopUsagePolling();
  }

  /** Takes over a session this engine did not start (reconnect-first, or a replacement found later). */
  private restore(found: Session): void {
    this.deps.emit({
      kind: 'session_accepted',
      session_id: found.session_id,
      status: found.status,
      restored: true,
    });
    this.adopt(found);
    this.startUsagePolling();
  }

  private async requestStart(requestedBy: RequestedBy): Promise<Session> {
    let started: Awaited<ReturnType<CloudApi['start']>>;
    try {
      started = await this.opts.api.start(
        {
          region_preference: this.opts.regionPreference ?? 'auto',
          requested_by: requestedBy,
          obs_connected: this.opts.obsConnected?.() ?? false,
        },
        randomUUID(),
      );
      this.markReachable();
    } catch (err) {
      if (this.status.kind === 'starting') this.status = IDLE;
      const denial = this.denialOf(err);
      this.detail = `IRL start refused: ${denial.message}`;
      this.deps.emit({ kind: 'session_denied', reason: denial.reason, message: denial.message });
      throw new IrlActivationError(denial.reason, denial.message);
    }
    const s = started.session;
    this.detail = null;
    this.deps.log.info(
      { session_id: s.session_id, status: s.status, created: started.status === 201 },
      'IRL start accepted',
    );
    this.deps.emit({ kind: 'session_accepted', session_id: s.session_id, status: s.status, restored: false });
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
    const st = this.status;
    const previous = sessionOf(st);
    const since = st.kind === 'active' || st.kind === 'ending' ? st.provisioningSince : null;
    const provisioning = s.status === 'provisioning';
    this.status = {
      kind: st.kind === 'ending' ? 'ending' : 'active',
      session: s,
      provisioningSince: provisioning ? (since ?? this.deps.now()) : null,
    };
    if (provisioning) {
      this.deps.hooks.adopted(s, false);
      this.schedulePoll(this.provisioningPollDelay());
      return;
    }
    if (s.status === 'grace' && previous?.status !== 'grace') {
      this.deps.emit({
        kind: 'grace',
        session_id: s.session_id,
        remaining_seconds: s.timers.grace_remaining_seconds,
      });
    }
    const ready = relayReady(s);
    this.deps.hooks.adopted(s, ready);
    this.schedulePoll(ready ? (this.opts.sessionPollMs ?? 10_000) : this.provisioningPollDelay());
  }

  private async poll(): Promise<void> {
    this.pollTimer = null;
    if (this.closed) return;
    const current = this.current();
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
    if (this.closed || this.current() !== current) return;

    if (!current) {
      // Reconnect-first lookup that failed at startup, now answered.
      if (found) this.restore(found);
      return;
    }
    if (!found || found.session_id !== current.session_id || found.status === 'stopped') {
      this.deps.log.warn(
        { session_id: current.session_id },
        'relay session no longer active on the control plane',
      );
      this.detail = 'the control plane ended the relay session';
      this.end('stopped_by_control_plane');
      if (found && found.status !== 'stopped') this.restore(found);
      return;
    }
    if (found.status === 'provisioning' && this.provisioningExpired())
      return this.provisioningTimedOut(found);
    this.adopt(found);
  }

  private provisioningSince(): number | null {
    const st = this.status;
    return st.kind === 'active' || st.kind === 'ending' ? st.provisioningSince : null;
  }

  private provisioningPollDelay(): number {
    const base = this.opts.provisioningPollMs ?? 500;
    const since = this.provisioningSince();
    const elapsed = since === null ? 0 : this.deps.now() - since;
    if (elapsed < 10_000) return base;
    return Math.max(base, elapsed < 60_000 ? 2_000 : 5_000);
  }

  private provisioningExpired(): boolean {
    const since = this.provisioningSince();
    return since !== null && this.deps.now() - since >= (this.opts.provisioningTimeoutMs ?? 330_000);
  }

  private provisioningTimedOut(s: Session): void {
    this.deps.log.warn({ session_id: s.session_id }, 'relay provisioning timed out; stopping the session');
    this.detail = 'the relay did not come up in time; the session was stopped';
    this.deps.emit({ kind: 'session_timeout', session_id: s.session_id });
    this.end('provisioning_timeout', false);
    this.opts.api.stop(s.session_id, 'error_recovery').catch((err: unknown) => {
      this.noteFailure('stop after provisioning timeout', err);
    });
  }

  /** The session is over: one status replaces it; the relay side lets go of its part first. */
  private end(reason: string, signal = true): void {
    const s = this.current();
    this.clearPoll();
    if (s) this.deps.hooks.ended(s);
    this.status = IDLE;
    this.stopUsagePolling();
    if (s && signal) this.deps.emit({ kind: 'session_ended', session_id: s.session_id, reason });
  }

  private startUsagePolling(): void {
    if (this.usageTimer || this.closed) return;
    this.usageTimer = setInterval(() => void this.refreshUsage(), this.opts.usagePollMs ?? 60_000);
    this.usageTimer.unref();
  }

  private stopUsagePolling(): void {
    if (this.usageTimer) clearInterval(this.usageTimer);
    this.usageTimer = null;
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
    if (this.reachable === false) this.deps.log.info('control plane reachable again');
    this.reachable = true;
    this.notice = null;
  }

  private noteFailure(what: string, err: unknown): void {
    if (err instanceof ControlPlaneError && err.unreachable) {
      if (this.reachable !== false) this.deps.log.warn({ err }, `${what}: control plane unreachable`);
      this.reachable = false;
      this.notice = UNREACHABLE_NOTICE;
      return;
    }
    this.deps.log.warn({ err }, `${what} failed`);
  }
}
