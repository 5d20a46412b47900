import { randomBytes } from 'node:crypto';
import type { Logger, SwitchError } from '@telemy/protocol';
import { errorText, FEED_CLASSES, type FeedClass, type Mode } from '@telemy/protocol';
import type { RelaySignal, RelaySignalSink } from '../cloudlink/relay-signals.js';
import type { EngineMetrics } from '../metrics/metrics.js';
import type { SceneSwitcher, SwitchResult } from '../scenes/scene-switcher.js';
import { type Diagnostics, DiagnosticsTracker } from './diagnostics.js';
import { type DraftEvent, EventHistory, type FailoverEvent } from './events.js';
import {
  type ActiveIntent,
  type CommandOrigin,
  type CommandOutcome,
  createFailoverState,
  currentMode,
  type Decision,
  decide,
  type FailoverInput,
  type FailoverState,
  type FeedObservation,
  type Refusal,
  type SwitchAction,
} from './machine.js';
import type { AutomationFlags, FailoverParams, SceneRoles } from './params.js';

export interface FailoverControllerOptions {
  params: FailoverParams;
  flags: AutomationFlags;
  scenes: SceneRoles;
  switcher: SceneSwitcher;
  /** Which path `switcher` is, for the DEGRADED trigger when it goes down. */
  scenePathVia: 'ipc' | 'obs';
  metrics: EngineMetrics;
  logger: Logger;
  now?: () => number;
  /** Re-reads OBS's program scene; run whenever the scene path comes (back) up, as the validation probe. */
  readProgramScene?: () => Promise<string | null>;
  /** Produces the current local feed classification on every tick (staleness needs no new sample). */
  feedMonitor?: { observe(now: number): FeedObservation };
  /** Carries out the `offline_timeout_s` auto-stop (obs-websocket `StopStream`). */
  stopStream?: () => Promise<void>;
  /** Drops and re-opens the scene path after a protocol-error storm. */
  resetScenePath?: (reason: string) => void;
  /** Every new history entry (for DockState pushes, chat announcements). */
  onEvent?: (event: FailoverEvent) => void;
  /** User notices (dock toast, IPC `user_notice`). */
  onNotice?: (level: 'info' | 'warn' | 'error', text: string) => void;
}

export interface CommandResult {
  ok: boolean;
  request_id: string | null;
  scene: string | null;
  /** A guard refused the command before anything was sent to OBS. */
  refusal: Refusal | null;
  /** The switch was sent and failed. */
  error: SwitchError | null;
  already_on_air: boolean;
  /** Request to OBS confirmation; null when nothing was switched. */
  latency_ms: number | null;
}

export type ExplicitCommand = { intent: ActiveIntent } | { scene: string };

/**
 * Holds the engine state, turns every incoming signal into a `decide()` call at once, and carries
 * out the resulting actions: scene switches through the injected `SceneSwitcher`, structured logs,
 * metrics, the event history and the diagnostics figures.
 */
export class FailoverController implements RelaySignalSink {
  private st: FailoverState;
  private readonly now: () => number;
  private readonly history = new EventHistory();
  private readonly diag: DiagnosticsTracker;
  private readonly log: Logger;
  private switchChain: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Map<string, (r: SwitchResult) => void>();
  private tickTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private degradedAccountedAt: number | null = null;
  private last: Decision | null = null;
  /** The last switch failure listed (`scene:code`), so a retried failure is one entry, not one per try. */
  private lastFailure: string | null = null;

  constructor(private readonly o: FailoverControllerOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'failover' });
    const t = this.now();
    this.st = createFailoverState({
      params: o.params,
      flags: o.flags,
      scenes: o.scenes,
      idPrefix: randomBytes(4).toString('hex'),
      now: t,
    });
    this.diag = new DiagnosticsTracker(t, currentMode(this.st));
  }

  /** Ticks every `sample_interval_ms` and at each time `decide()` asked to be woken. */
  start(): void {
    if (this.tickTimer) return;
    this.tickTimer = setInterval(() => this.tick(), this.st.params.sample_interval_ms);
    this.tick();
  }

  stop(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.tickTimer = null;
    this.wakeTimer = null;
  }

  state(): FailoverState {
    return this.st;
  }

  mode(): Mode {
    return currentMode(this.st);
  }

  lastDecision(): Decision | null {
    return this.last;
  }

  events(): FailoverEvent[] {
    return this.history.list();
  }

  diagnostics(): Diagnostics {
    return this.diag.report(this.now());
  }

  tick(): void {
    if (this.o.feedMonitor) this.dispatch({ kind: 'feed', feed: this.o.feedMonitor.observe(this.now()) });
    else this.dispatch({ kind: 'tick' });
  }

  feed(feed: FeedObservation): void {
    this.dispatch({ kind: 'feed', feed });
  }

  relaySignal(signal: RelaySignal): void {
    this.dispatch({ kind: 'relay', signal });
  }

  programScene(scene: string | null): void {
    this.dispatch({ kind: 'program_scene', scene });
  }

  /** OBS's scene list (null while OBS is unreachable): missing role scenes are found against it. */
  sceneList(scenes: string[] | null): void {
    this.dispatch({ kind: 'scene_list', scenes });
  }

  /**
   * Something that happened outside the state machine but belongs in the event log (OBS connected,
   * the stream started): recorded like the engine's own events.
   */
  note(
    level: 'info' | 'warn' | 'error',
    kind: string,
    text: string,
    data: Record<string, unknown> = {},
  ): void {
    this.record(this.now(), { level, kind, text, data });
  }

  /** The switcher's readiness is also checked on every evaluation; call this to react at once. */
  scenePathChanged(): void {
    this.dispatch({ kind: 'tick' });
  }

  protocolErrorStorm(detail: string): void {
    this.dispatch({ kind: 'protocol_error_storm', detail });
  }

  fatal(reason: string): void {
    this.dispatch({ kind: 'fatal', reason });
  }

  streamStatus(active: boolean): void {
    if (active !== this.st.stream.active) this.dispatch({ kind: 'stream_status', active });
  }

  /** `POST /api/settings`: changes any of the automation flags; returns the flags now in force. */
  setFlags(flags: Partial<AutomationFlags>): AutomationFlags {
    this.dispatch({ kind: 'flags', flags });
    return { ...this.st.flags };
  }

  setConfig(update: { params?: FailoverParams; scenes?: SceneRoles }): void {
    this.dispatch({ kind: 'config', ...update });
  }

  /**
   * `POST /api/intent`, CLI and chat: an explicit command. Resolves when OBS confirmed the scene
   * (or the switch failed / was refused).
   */
  async command(command: ExplicitCommand, origin: CommandOrigin, requestId?: string): Promise<CommandResult> {
    const d = this.dispatch({ kind: 'command', command, origin, ...(requestId ? { requestId } : {}) });
    const outcome = d.command as CommandOutcome;
    if (!outcome.ok || outcome.requestId === null) {
      return {
        ok: outcome.ok,
        request_id: null,
        scene: outcome.scene,
        refusal: outcome.refusal,
        error: null,
        already_on_air: outcome.alreadyOnAir,
        latency_ms: null,
      };
    }
    const id = outcome.requestId;
    const result = await new Promise<SwitchResult>((resolve) => this.waiters.set(id, resolve));
    return {
      ok: result.ok,
      request_id: id,
      scene: outcome.scene,
      refusal: null,
      error: result.error,
      already_on_air: false,
      latency_ms: result.latencyMs,
    };
  }

  private dispatch(input: FailoverInput): Decision {
    const t = this.now();
    const ready = this.o.switcher.ready();
    if (ready !== this.st.scenePathReady && input.kind !== 'scene_path') {
      this.apply(decide(this.st, { kind: 'scene_path', ready, via: this.o.scenePathVia }, t), t);
      if (ready) this.probe();
    }
    const d = decide(this.st, input, t);
    this.apply(d, t);
    return d;
  }

  private apply(d: Decision, t: number): void {
    this.accountDegraded(d.state, t);
    this.st = d.state;
    this.last = d;
    for (const e of d.events) this.record(t, e);
    for (const a of d.actions) {
      switch (a.type) {
        case 'mode_transition':
          this.o.metrics.stateTransitionTotal.inc({ from: a.from, to: a.to });
          this.diag.modeChanged(a.to, t);
          break;
        case 'switch':
          if (a.rule === 'command')
            this.o.metrics.sceneIntentTotal.inc({ intent: a.intent ?? 'SCENE', rule: a.rule });
          this.execute(a);
          break;
        case 'notice':
          this.guarded('onNotice', () => this.o.onNotice?.(a.level, a.text));
          break;
        case 'stop_stream':
          this.stopStream(a.reason);
          break;
        case 'reset_scene_path':
          this.guarded('resetScenePath', () => this.o.resetScenePath?.(a.reason));
          break;
      }
    }
    for (const e of d.events) {
      if (e.kind === 'grace_started') {
        this.o.metrics.graceEntriesTotal.inc();
        this.diag.graceEntered(t);
      } else if (e.kind === 'grace_recovered') {
        this.o.metrics.graceRecoveriesTotal.inc();
        this.diag.graceRecovered(t);
      } else if (e.kind === 'intent') {
        this.o.metrics.sceneIntentTotal.inc({ intent: String(e.data?.intent), rule: String(e.data?.rule) });
      }
    }
    this.setFeedGauge(this.st.run.health);
    this.scheduleWake(d.wakeAt, t);
  }

  private record(t: number, draft: DraftEvent): void {
    const fields = { kind: draft.kind, request_id: draft.request_id ?? undefined, ...draft.data };
    this.log[draft.level](fields, draft.text);
    if (draft.quiet) return;
    const e = this.history.push(t, draft);
    this.guarded('onEvent', () => this.o.onEvent?.(e));
  }

  /** A subscriber's bug must not stop failover: log it and carry on. */
  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ kind: 'callback_failed', callback: what, err }, `${what} threw`);
    }
  }

  private execute(a: SwitchAction): void {
    const run = async () => {
      let result: SwitchResult;
      try {
        result = await this.o.switcher.switchScene({
          requestId: a.requestId,
          scene: a.scene,
          reason: a.reason,
          deadlineMs: a.deadlineMs,
        });
      } catch (err) {
        const message = errorText(err);
        result = { ok: false, error: { code: 'obs_rejected', message }, latencyMs: 0 };
      }
      this.finish(a, result);
    };
    this.switchChain = this.switchChain.then(run, run);
  }

  private finish(a: SwitchAction, result: SwitchResult): void {
    const t = this.now();
    const detectionMs = t - a.detectedAt;
    const outcome = result.ok ? 'ok' : 'failed';
    this.o.metrics.sceneSwitchTotal.inc({ reason: a.reason, result: outcome });
    if (result.ok)
      this.o.metrics.failoverDetectionToSwitchSeconds.observe({ reason: a.reason }, detectionMs / 1000);
    this.diag.switchDone(t, result.ok, detectionMs);
    // One event per switch; the same failure retried is logged, not listed again.
    const failure = result.error ? `${a.scene}:${result.error.code}` : null;
    const repeated = failure !== null && failure === this.lastFailure;
    this.lastFailure = failure;
    this.record(t, {
      level: result.ok ? 'info' : 'warn',
      kind: 'switch_result',
      text: result.ok
        ? `${a.scene} on air in ${Math.round(result.latencyMs)} ms — ${a.why}`
        : `could not put ${a.scene} on air: ${result.error?.message ?? 'unknown error'}`,
      request_id: a.requestId,
      data: {
        scene: a.scene,
        intent: a.intent,
        rule: a.rule,
        reason: a.reason,
        why: a.why,
        result: outcome,
        error: result.error?.message ?? null,
        error_code: result.error?.code ?? null,
        latency_ms: result.latencyMs,
        detection_to_switch_ms: detectionMs,
      },
      ...(repeated ? { quiet: true } : {}),
    });
    this.dispatch({ kind: 'switch_result', requestId: a.requestId, ok: result.ok, error: result.error });
    const waiter = this.waiters.get(a.requestId);
    if (waiter) {
      this.waiters.delete(a.requestId);
      waiter(result);
    }
  }

  private probe(): void {
    const read = this.o.readProgramScene;
    if (!read) return;
    read().then(
      (scene) => this.programScene(scene),
      (err: unknown) => this.log.warn({ kind: 'probe_failed', err }, 'program scene read-back failed'),
    );
  }

  private stopStream(reason: string): void {
    const stop = this.o.stopStream;
    if (!stop) return;
    stop().then(
      () =>
        this.record(this.now(), {
          level: 'warn',
          kind: 'stream_stopped_by_telemy',
          text: `Telemy stopped the stream: ${reason}`,
          data: { reason },
        }),
      (err: unknown) =>
        this.record(this.now(), {
          level: 'error',
          kind: 'stop_stream_failed',
          text: `could not stop the stream: ${errorText(err)}`,
          data: { reason },
        }),
    );
  }

  /** Adds the time spent DEGRADED since the last evaluation, so the counter moves while it lasts. */
  private accountDegraded(next: FailoverState, t: number): void {
    if (this.st.degraded !== null && this.degradedAccountedAt !== null) {
      this.o.metrics.degradedSecondsTotal.inc((t - this.degradedAccountedAt) / 1000);
    }
    this.degradedAccountedAt = next.degraded !== null ? t : null;
  }

  private setFeedGauge(health: FeedClass): void {
    for (const c of FEED_CLASSES) this.o.metrics.feedState.set({ state: c }, c === health ? 1 : 0);
  }

  private scheduleWake(at: number | null, t: number): void {
    if (!this.tickTimer) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer =
      at === null ? null : setTimeout(() => this.dispatch({ kind: 'tick' }), Math.max(0, at - t));
  }
}
