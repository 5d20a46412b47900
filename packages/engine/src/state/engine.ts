import type { RelaySignal } from '../cloudlink/relay-signals.js';
import type { SwitchReason } from '../scenes/scene-switcher.js';
import type { FeedClass } from '../sources/feed-class.js';
import type { DraftEvent } from './events.js';
import { type Mode, type ModeTrigger, transition } from './modes.js';
import {
  type AutomationFlags,
  type FailoverParams,
  managedScenes,
  type ResolvedFailoverParams,
  resolveFailoverParams,
  type SceneRoles,
} from './params.js';

/**
 * The failover decision function of `10-state-machine.md`: `decide(state, input, now)` is pure
 * (no clock, no I/O, no randomness); every input is evaluated when it arrives.
 */

export type SceneIntent = 'LIVE' | 'LOW' | 'BRB' | 'OFFLINE' | 'HOLD';
export type ActiveIntent = Exclude<SceneIntent, 'HOLD'>;
/** The five rules of §3, in priority order. */
export type RuleId = 'command' | 'local_failover' | 'cloud_signal' | 'recovery' | 'hold';
export type Guard =
  | 'fatal'
  | 'scene_path'
  | 'degraded'
  | 'manual_override'
  | 'auto_scene_switch'
  | 'program_scene_unknown'
  | 'unmanaged_scene'
  | 'no_scene';
export type CommandOrigin = 'dock' | 'cli' | 'api' | 'chat';

/** The live feed as the sources layer classified it (after the priority list picked a source). */
export interface FeedObservation {
  health: FeedClass;
  source: string | null;
  reason: string | null;
  /** When the source knows its condition began (e.g. the last stats line before it went stale). */
  since?: number | null;
}

export type EngineInput =
  | { kind: 'tick' }
  | { kind: 'feed'; feed: FeedObservation }
  | { kind: 'relay'; signal: RelaySignal }
  /** OBS's current program scene (event or read-back); null while OBS is unreachable. */
  | { kind: 'program_scene'; scene: string | null }
  /** The path that executes switches: the IPC link to the shim, or the direct obs-websocket session. */
  | { kind: 'scene_path'; ready: boolean; via: 'ipc' | 'obs' }
  | { kind: 'protocol_error_storm'; detail: string }
  | { kind: 'fatal'; reason: string }
  | { kind: 'stream_status'; active: boolean }
  | { kind: 'flags'; flags: Partial<AutomationFlags> }
  | { kind: 'config'; params?: FailoverParams; scenes?: SceneRoles }
  | {
      kind: 'command';
      command: { intent: ActiveIntent } | { scene: string };
      origin: CommandOrigin;
      /** Given by callers that need idempotency (chat); generated otherwise. */
      requestId?: string;
    }
  | { kind: 'switch_result'; requestId: string; ok: boolean; error: string | null };

export interface SwitchAction {
  type: 'switch';
  requestId: string;
  scene: string;
  /** The role of the scene; null for an explicit command naming a scene outside the roles. */
  intent: ActiveIntent | null;
  rule: RuleId;
  reason: SwitchReason;
  /** Why, in a few words (e.g. "feed offline: stats stale 1.2 s"). */
  why: string;
  /** When the condition that fired the rule was detected (engine clock, ms). */
  detectedAt: number;
  deadlineMs: number;
}

export type EngineAction =
  | SwitchAction
  | { type: 'mode_transition'; from: Mode; to: Mode; trigger: ModeTrigger }
  | { type: 'notice'; level: 'info' | 'warn' | 'error'; text: string }
  | { type: 'stop_stream'; reason: string }
  /** Protocol-error storm: drop and re-establish the scene path instead of crashing. */
  | { type: 'reset_scene_path'; reason: string };

export interface CommandOutcome {
  ok: boolean;
  requestId: string | null;
  scene: string | null;
  /** Why it was refused, or null. */
  error: string | null;
  /** True when the scene was already on air: nothing to switch. */
  alreadyOnAir: boolean;
}

export interface Decision {
  state: EngineState;
  /** Exactly one per evaluation. */
  intent: SceneIntent;
  rule: RuleId;
  actions: EngineAction[];
  events: DraftEvent[];
  /** The next time an evaluation could change something without a new input (timer to set), or null. */
  wakeAt: number | null;
  /** Set for `command` inputs only. */
  command: CommandOutcome | null;
}

export interface EngineState {
  params: ResolvedFailoverParams;
  flags: AutomationFlags;
  scenes: SceneRoles;
  /** The IRL sub-machine: STUDIO or one of the IRL modes; DEGRADED/FATAL are overlays on it. */
  irl: Mode;
  degraded: { trigger: ModeTrigger; since: number; healthySince: number | null; probeOk: boolean } | null;
  fatal: string | null;
  modeSince: number;
  relay: {
    telemetry: boolean;
    ingest: 'unknown' | 'active' | 'inactive';
    downSince: number | null;
    graceUntil: number | null;
  };
  scenePathReady: boolean;
  scenePathEverReady: boolean;
  programScene: string | null;
  streamActive: boolean;
  local: FeedObservation;
  cloud: { health: FeedClass; reason: string | null };
  /** The current run of the effective feed class: how long it has lasted drives hysteresis. */
  run: { health: FeedClass; since: number };
  /** When the last `feed` input arrived. */
  lastFeedAt: number | null;
  /** What automation concluded the scene should be (null before the first conclusion). */
  target: { intent: ActiveIntent; rule: RuleId; why: string; detectedAt: number } | null;
  /** The target still has to be asserted (new, or blocked/failed earlier). */
  armed: boolean;
  stopIssued: boolean;
  inFlight: { requestId: string; scene: string; automatic: boolean } | null;
  /**
   * A scene our switch put on air whose OBS report has not arrived yet. Until it does, that scene
   * is on air: an intent decided in between must not compare against the stale program scene.
   */
  unreported: string | null;
  /** The last guard reported, so a blocked intent is logged once, not on every tick. */
  lastGuard: string | null;
  idPrefix: string;
  seq: number;
}

export interface EngineInit {
  params: FailoverParams;
  flags: AutomationFlags;
  scenes: SceneRoles;
  /** Prefix of generated request ids; make it unique per engine run (e.g. a few random characters). */
  idPrefix: string;
  now: number;
}

export function createEngineState(init: EngineInit): EngineState {
  return {
    params: resolveFailoverParams(init.params),
    flags: { ...init.flags },
    scenes: { ...init.scenes, managed_extra: [...init.scenes.managed_extra] },
    irl: 'STUDIO',
    degraded: null,
    fatal: null,
    modeSince: init.now,
    relay: { telemetry: false, ingest: 'unknown', downSince: null, graceUntil: null },
    scenePathReady: false,
    scenePathEverReady: false,
    programScene: null,
    streamActive: false,
    local: { health: 'unknown', source: null, reason: null },
    cloud: { health: 'unknown', reason: null },
    run: { health: 'unknown', since: init.now },
    lastFeedAt: null,
    target: null,
    armed: false,
    stopIssued: false,
    inFlight: null,
    unreported: null,
    lastGuard: null,
    idPrefix: init.idPrefix,
    seq: 0,
  };
}

/** The top-level mode as the outside world sees it. */
export function currentMode(s: EngineState): Mode {
  if (s.fatal !== null) return 'FATAL';
  if (s.degraded !== null) return 'DEGRADED';
  return s.irl;
}

export function sceneFor(intent: ActiveIntent, roles: SceneRoles): string {
  return { LIVE: roles.live, LOW: roles.low, BRB: roles.brb, OFFLINE: roles.offline }[intent];
}

/** The role a scene plays, or null when it is none of live/low/brb/offline. */
export function intentOfScene(scene: string, roles: SceneRoles): ActiveIntent | null {
  const intents: ActiveIntent[] = ['LIVE', 'LOW', 'BRB', 'OFFLINE'];
  return intents.find((i) => scene !== '' && sceneFor(i, roles) === scene) ?? null;
}

/** Automatic switching would act now: flags allow it, the scene path is up, a managed scene is on air. */
export function automationArmed(s: EngineState): boolean {
  return firstAutoGuard(s) === null;
}

const RANK: Record<FeedClass, number> = { unknown: 0, normal: 1, low: 2, offline: 3 };

class Evaluation {
  readonly actions: EngineAction[] = [];
  readonly events: DraftEvent[] = [];
  intent: SceneIntent = 'HOLD';
  rule: RuleId = 'hold';
  command: CommandOutcome | null = null;

  constructor(
    readonly s: EngineState,
    readonly now: number,
  ) {}

  event(
    level: DraftEvent['level'],
    kind: string,
    text: string,
    data: Record<string, unknown> = {},
    requestId?: string,
  ) {
    this.events.push({ level, kind, text, data, request_id: requestId ?? null });
  }

  notice(level: 'info' | 'warn' | 'error', text: string) {
    this.actions.push({ type: 'notice', level, text });
  }

  private emitMode(from: Mode, to: Mode, trigger: ModeTrigger) {
    this.s.modeSince = this.now;
    this.actions.push({ type: 'mode_transition', from, to, trigger });
    const level = to === 'FATAL' ? 'error' : to === 'DEGRADED' ? 'warn' : 'info';
    this.event(level, 'mode_transition', `mode ${from} → ${to} (${trigger})`, { from, to, trigger });
  }

  private illegal(from: Mode, to: Mode, trigger: ModeTrigger, reason: string) {
    this.event('warn', 'illegal_transition', `rejected mode change ${from} → ${to}: ${reason}`, {
      from,
      to,
      trigger,
      reason,
    });
  }

  /** Moves the IRL sub-machine; visible as a mode transition unless DEGRADED/FATAL overlays it. */
  setIrl(to: Mode, trigger: ModeTrigger): boolean {
    const s = this.s;
    const from = s.irl;
    const res = transition({ mode: from, before: null }, to, trigger);
    if (!res.ok) {
      this.illegal(from, to, trigger, res.reason);
      return false;
    }
    s.irl = to;
    if (currentMode(s) === to) this.emitMode(from, to, trigger);
    else
      this.event('info', 'irl_transition', `IRL ${from} → ${to} (${trigger}) while ${currentMode(s)}`, {
        from,
        to,
        trigger,
      });
    if (to === 'IRL_GRACE') {
      s.relay.graceUntil ??= this.now + s.params.grace_window_s * 1000;
      this.event('warn', 'grace_started', `relay grace started (${trigger})`, {
        trigger,
        until: s.relay.graceUntil,
      });
    }
    if (from === 'IRL_GRACE') {
      s.relay.graceUntil = null;
      if (to === 'IRL_ACTIVE')
        this.event('info', 'grace_recovered', 'relay recovered within the grace window');
      else if (trigger === 'grace_expired') this.event('warn', 'grace_expired', 'relay grace window expired');
    }
    if (to === 'STUDIO') {
      s.relay = { telemetry: false, ingest: 'unknown', downSince: null, graceUntil: null };
      s.cloud = { health: 'unknown', reason: null };
    }
    return true;
  }

  enterDegraded(trigger: ModeTrigger) {
    const s = this.s;
    if (s.fatal !== null) return;
    if (s.degraded !== null) {
      s.degraded = { ...s.degraded, trigger, healthySince: null, probeOk: false };
      return;
    }
    const res = transition({ mode: s.irl, before: null }, 'DEGRADED', trigger);
    if (!res.ok) {
      this.illegal(s.irl, 'DEGRADED', trigger, res.reason);
      return;
    }
    s.degraded = { trigger, since: this.now, healthySince: null, probeOk: false };
    this.emitMode(s.irl, 'DEGRADED', trigger);
  }

  leaveDegraded() {
    const s = this.s;
    const res = transition({ mode: 'DEGRADED', before: s.irl }, s.irl, 'dependency_healthy');
    if (!res.ok) {
      this.illegal('DEGRADED', s.irl, 'dependency_healthy', res.reason);
      return;
    }
    s.degraded = null;
    // A path that was down may have missed scene changes: re-assert what automation wants.
    s.armed = s.target !== null;
    this.emitMode('DEGRADED', s.irl, 'dependency_healthy');
  }

  enterFatal(reason: string) {
    const s = this.s;
    const from = currentMode(s);
    const res = transition({ mode: from, before: s.irl }, 'FATAL', 'fatal_error');
    if (!res.ok) {
      this.illegal(from, 'FATAL', 'fatal_error', res.reason);
      return;
    }
    s.fatal = reason;
    this.emitMode(from, 'FATAL', 'fatal_error');
    this.notice('error', `Telemy stopped automation: ${reason}`);
  }

  nextRequestId(): string {
    this.s.seq += 1;
    return `${this.s.idPrefix}-${this.s.seq}`;
  }
}

function firstAutoGuard(s: EngineState): Guard | null {
  if (s.fatal !== null) return 'fatal';
  if (!s.scenePathReady) return 'scene_path';
  if (s.degraded !== null) return 'degraded';
  if (s.flags.manual_override) return 'manual_override';
  if (!s.flags.auto_scene_switch) return 'auto_scene_switch';
  if (s.programScene === null) return 'program_scene_unknown';
  if (!managedScenes(s.scenes).includes(s.programScene)) return 'unmanaged_scene';
  return null;
}

function lowUsable(s: EngineState): boolean {
  return s.flags.low_quality_fallback && s.scenes.low !== '';
}

/** The feed automation acts on: the worse of the local feed and (in IRL modes) the relay's view. */
function effectiveFeed(s: EngineState): { health: FeedClass; by: 'local' | 'cloud'; reason: string } {
  const cloudRelevant = s.irl === 'IRL_ACTIVE' || s.irl === 'IRL_GRACE';
  const cloud = cloudRelevant ? s.cloud : { health: 'unknown' as FeedClass, reason: null };
  // A local hard failure beats a healthy cloud signal; otherwise the worse signal wins.
  const useCloud = RANK[cloud.health] > RANK[s.local.health];
  let health = useCloud ? cloud.health : s.local.health;
  const by = useCloud ? 'cloud' : 'local';
  const reason = (useCloud ? cloud.reason : s.local.reason) ?? `feed ${health}`;
  if (health === 'low' && !lowUsable(s)) health = 'normal';
  return { health, by, reason };
}

function sustainedMs(s: EngineState, now: number): number {
  return now - s.run.since;
}

function needMs(s: EngineState, health: FeedClass, by: 'local' | 'cloud'): number | null {
  const p = s.params;
  // A relay push ("ingest stalled") is already a debounced fact: act on it at once.
  if (health === 'offline' && by === 'cloud') return 0;
  const fromBad = s.target?.intent === 'BRB' || s.target?.intent === 'OFFLINE';
  if (health === 'offline') return p.offline_after_ms;
  if (health === 'low') return fromBad ? Math.max(p.low_after_ms, p.recover_after_ms) : p.low_after_ms;
  if (health === 'normal') return p.recover_after_ms;
  return null;
}

/** Rules 2-4: what the feed warrants now, or null when it warrants no change (rule 5). */
function automaticTarget(ev: Evaluation): EngineState['target'] {
  const s = ev.s;
  const eff = effectiveFeed(s);
  const need = needMs(s, eff.health, eff.by);
  if (need === null || sustainedMs(s, ev.now) < need) return null;
  const current = s.target?.intent;
  if (eff.health === 'offline') {
    const timeout = s.params.offline_timeout_s * 1000;
    if (timeout > 0 && s.streamActive && !s.stopIssued && ev.now - s.run.since >= timeout) {
      return {
        intent: 'OFFLINE',
        rule: eff.by === 'local' ? 'local_failover' : 'cloud_signal',
        why: `offline for ${s.params.offline_timeout_s} s: stopping the stream`,
        detectedAt: ev.now,
      };
    }
    if (current === 'BRB' || current === 'OFFLINE') return null;
    return {
      intent: 'BRB',
      rule: eff.by === 'local' ? 'local_failover' : 'cloud_signal',
      why: eff.reason,
      detectedAt: ev.now,
    };
  }
  if (eff.health === 'low') {
    if (current === 'LOW') return null;
    const recovering = current === 'BRB' || current === 'OFFLINE';
    const rule: RuleId = recovering ? 'recovery' : eff.by === 'local' ? 'local_failover' : 'cloud_signal';
    return { intent: 'LOW', rule, why: eff.reason, detectedAt: ev.now };
  }
  if (current === 'LIVE') return null;
  return {
    intent: 'LIVE',
    rule: 'recovery',
    why: `feed normal for ${sustainedMs(s, ev.now)} ms`,
    detectedAt: ev.now,
  };
}

function applyRelaySignal(ev: Evaluation, sig: RelaySignal) {
  const s = ev.s;
  const markDown = () => {
    s.relay.downSince ??= ev.now;
  };
  const markUp = () => {
    if (s.relay.telemetry && s.relay.ingest !== 'inactive') s.relay.downSince = null;
  };
  switch (sig.kind) {
    case 'session_accepted':
      ev.setIrl('IRL_CONNECTING', sig.restored ? 'session_restored' : 'irl_start_accepted');
      return;
    case 'session_denied':
      if (ev.setIrl('STUDIO', 'irl_start_denied'))
        ev.notice('warn', `IRL start refused: ${sig.message || sig.reason}`);
      return;
    case 'session_timeout':
      if (ev.setIrl('STUDIO', 'irl_start_timeout'))
        ev.notice('warn', 'IRL start timed out: the relay did not come up');
      return;
    case 'session_ended': {
      const trigger: ModeTrigger =
        s.irl === 'IRL_CONNECTING'
          ? 'irl_cancelled'
          : s.irl === 'IRL_ACTIVE'
            ? 'irl_stop_acknowledged'
            : 'irl_off';
      ev.setIrl('STUDIO', trigger);
      return;
    }
    case 'grace':
      if (sig.remaining_seconds !== null) s.relay.graceUntil = ev.now + sig.remaining_seconds * 1000;
      if (s.irl === 'IRL_ACTIVE') ev.setIrl('IRL_GRACE', 'telemetry_lost');
      return;
    case 'telemetry_connected':
      s.relay.telemetry = true;
      markUp();
      return;
    case 'telemetry_disconnected':
      s.relay.telemetry = false;
      markDown();
      return;
    case 'ingest_active':
    case 'ingest_resumed':
      if (sig.kind === 'ingest_active') s.relay.ingest = 'active';
      s.cloud = { health: 'normal', reason: 'relay ingest flowing' };
      markUp();
      return;
    case 'ingest_inactive':
      s.relay.ingest = 'inactive';
      s.cloud = { health: 'offline', reason: 'relay ingest inactive' };
      markDown();
      return;
    case 'ingest_stalled':
      s.cloud = {
        health: 'offline',
        reason: `relay ingest stalled${sig.link_id ? ` (${sig.link_id})` : ''}`,
      };
      return;
    case 'link_failover':
      ev.event('info', 'link_failover', `relay link failover ${sig.from ?? '?'} → ${sig.to ?? '?'}`, {
        from: sig.from,
        to: sig.to,
      });
      return;
  }
}

/** Time-driven mode changes: connecting → active, grace entry (debounced) / recovery / expiry, DEGRADED exit. */
function evaluateModes(ev: Evaluation) {
  const s = ev.s;
  const r = s.relay;
  const debounce = s.params.mode_debounce_ms;
  if (s.irl === 'IRL_CONNECTING' && r.telemetry) ev.setIrl('IRL_ACTIVE', 'relay_connected');
  const down = !r.telemetry || r.ingest === 'inactive';
  if (s.irl === 'IRL_ACTIVE' && down && r.downSince !== null && ev.now - r.downSince >= debounce) {
    ev.setIrl('IRL_GRACE', r.telemetry ? 'ingest_inactive' : 'telemetry_lost');
  }
  if (s.irl === 'IRL_GRACE') {
    if (r.graceUntil !== null && ev.now >= r.graceUntil) ev.setIrl('STUDIO', 'grace_expired');
    else if (!down) ev.setIrl('IRL_ACTIVE', 'relay_recovered');
  }
  const d = s.degraded;
  if (d && s.scenePathReady && d.probeOk) {
    if (d.healthySince === null) d.healthySince = ev.now;
    if (ev.now - d.healthySince >= debounce) ev.leaveDegraded();
  }
}

function switchAction(
  ev: Evaluation,
  intent: ActiveIntent | null,
  scene: string,
  rule: RuleId,
  reason: SwitchReason,
  why: string,
  detectedAt: number,
  requestId: string,
): SwitchAction {
  const action: SwitchAction = {
    type: 'switch',
    requestId,
    scene,
    intent,
    rule,
    reason,
    why,
    detectedAt,
    deadlineMs: ev.s.params.switch_deadline_ms,
  };
  ev.actions.push(action);
  ev.s.inFlight = { requestId, scene, automatic: rule !== 'command' };
  ev.event(
    'info',
    'switch_requested',
    `switch to ${scene} (${intent ?? 'scene'}, ${rule}: ${why})`,
    { scene, intent, rule, reason, why },
    requestId,
  );
  return action;
}

function runCommand(ev: Evaluation, input: Extract<EngineInput, { kind: 'command' }>) {
  const s = ev.s;
  const c = input.command;
  const scene = 'intent' in c ? sceneFor(c.intent, s.scenes) : c.scene;
  const intent: ActiveIntent | null = 'intent' in c ? c.intent : intentOfScene(scene, s.scenes);
  const refuse = (error: string, guard: Guard) => {
    ev.command = { ok: false, requestId: null, scene: scene || null, error, alreadyOnAir: false };
    ev.event('warn', 'guard_rejected', `command refused: ${error}`, { guard, origin: input.origin, scene });
  };
  ev.intent = intent ?? 'HOLD';
  ev.rule = 'command';
  if (scene === '') return refuse('no LOW scene is configured', 'no_scene');
  if (s.fatal !== null) return refuse(`engine is FATAL: ${s.fatal}`, 'fatal');
  if (!s.scenePathReady) return refuse('the scene path (OBS/IPC) is not ready', 'scene_path');
  if (s.inFlight === null && s.programScene === scene) {
    ev.command = { ok: true, requestId: null, scene, error: null, alreadyOnAir: true };
    return;
  }
  const requestId = input.requestId ?? ev.nextRequestId();
  const reason: SwitchReason = input.origin === 'chat' ? 'chat_command' : 'manual';
  // The operator's choice stands until the feed changes again.
  s.armed = false;
  switchAction(ev, intent, scene, 'command', reason, `${input.origin} command`, ev.now, requestId);
  ev.command = { ok: true, requestId, scene, error: null, alreadyOnAir: false };
}

function runAutomation(ev: Evaluation) {
  const s = ev.s;
  const next = automaticTarget(ev);
  if (next !== null) {
    s.target = next;
    s.armed = true;
    s.lastGuard = null;
    ev.event('info', 'intent', `intent ${next.intent} by ${next.rule}: ${next.why}`, {
      intent: next.intent,
      rule: next.rule,
      reason: next.why,
    });
    if (next.intent === 'OFFLINE') {
      s.stopIssued = true;
      ev.actions.push({ type: 'stop_stream', reason: next.why });
      ev.notice('warn', `Feed offline for ${s.params.offline_timeout_s} s: stopping the stream`);
    }
  }
  const t = s.target;
  if (!s.armed || t === null) return;
  ev.intent = t.intent;
  ev.rule = t.rule;
  const scene = sceneFor(t.intent, s.scenes);
  const onAir = s.inFlight?.scene ?? s.unreported ?? s.programScene;
  if (onAir === scene) {
    s.armed = false;
    return;
  }
  const guard = firstAutoGuard(s);
  if (guard !== null) {
    const key = `${guard}:${t.intent}`;
    if (s.lastGuard !== key) {
      s.lastGuard = key;
      ev.event('info', 'guard_rejected', `automatic ${t.intent} held: ${guard}`, {
        guard,
        intent: t.intent,
        rule: t.rule,
      });
    }
    return;
  }
  // A target a guard held (automation off, override, unmanaged scene) is acted on only now: the
  // detection-to-switch figure starts when automation was allowed to act, not during the hold.
  const detectedAt = s.lastGuard !== null ? ev.now : t.detectedAt;
  s.armed = false;
  s.lastGuard = null;
  const reason: SwitchReason = t.rule === 'recovery' ? 'auto_recover' : 'auto_failover';
  switchAction(ev, t.intent, scene, t.rule, reason, t.why, detectedAt, ev.nextRequestId());
}

function applyInput(ev: Evaluation, input: EngineInput) {
  const s = ev.s;
  switch (input.kind) {
    case 'tick':
    case 'command':
      return;
    case 'feed':
      s.local = { ...input.feed };
      return;
    case 'relay':
      applyRelaySignal(ev, input.signal);
      return;
    case 'program_scene':
      s.programScene = input.scene;
      s.unreported = null;
      if (input.scene !== null && s.scenePathReady && s.degraded) s.degraded.probeOk = true;
      return;
    case 'scene_path':
      if (input.ready === s.scenePathReady) return;
      s.scenePathReady = input.ready;
      if (!input.ready) {
        if (s.scenePathEverReady)
          ev.enterDegraded(input.via === 'ipc' ? 'ipc_failures' : 'obs_control_unavailable');
        return;
      }
      s.scenePathEverReady = true;
      if (s.degraded) s.degraded = { ...s.degraded, healthySince: null, probeOk: false };
      s.armed = s.target !== null;
      return;
    case 'protocol_error_storm':
      ev.enterDegraded('protocol_error_storm');
      ev.actions.push({ type: 'reset_scene_path', reason: input.detail });
      return;
    case 'fatal':
      ev.enterFatal(input.reason);
      return;
    case 'stream_status':
      s.streamActive = input.active;
      if (input.active) s.stopIssued = false;
      return;
    case 'flags': {
      const before = s.flags;
      s.flags = { ...before, ...input.flags };
      const handedBack =
        (before.manual_override && !s.flags.manual_override) ||
        (!before.auto_scene_switch && s.flags.auto_scene_switch);
      if (handedBack && s.target !== null) s.armed = true;
      for (const [k, v] of Object.entries(input.flags)) {
        if (before[k as keyof AutomationFlags] !== v)
          ev.event('info', 'setting_changed', `${k} = ${v}`, { key: k, value: v });
      }
      return;
    }
    case 'config':
      if (input.params) s.params = resolveFailoverParams(input.params);
      if (input.scenes) s.scenes = { ...input.scenes, managed_extra: [...input.scenes.managed_extra] };
      s.armed = s.target !== null;
      return;
    case 'switch_result': {
      const f = s.inFlight;
      if (f === null || f.requestId !== input.requestId) return;
      s.inFlight = null;
      // The program scene is only ever taken from OBS's own reports (a late result must not
      // overwrite a newer scene change by the operator).
      if (!input.ok && f.automatic) s.armed = true;
      if (input.ok) s.unreported = s.programScene === f.scene ? null : f.scene;
      return;
    }
  }
}

function wakeAt(s: EngineState, now: number): number | null {
  const at: number[] = [];
  const eff = effectiveFeed(s);
  const need = needMs(s, eff.health, eff.by);
  if (need !== null) at.push(s.run.since + need);
  if (eff.health === 'offline' && s.params.offline_timeout_s > 0 && s.streamActive && !s.stopIssued) {
    at.push(s.run.since + s.params.offline_timeout_s * 1000);
  }
  if (s.relay.graceUntil !== null) at.push(s.relay.graceUntil);
  if (s.relay.downSince !== null) at.push(s.relay.downSince + s.params.mode_debounce_ms);
  if (s.degraded?.healthySince != null) at.push(s.degraded.healthySince + s.params.mode_debounce_ms);
  const future = at.filter((t) => t > now);
  return future.length > 0 ? Math.min(...future) : null;
}

/**
 * When a new feed class began. A source that knows (stale stats: the last line) says so; otherwise a
 * sample stands for the time since the previous one, at most one sample interval. So one offline
 * sample at the default 500 ms cadence meets offline_after_ms, while a single glitch line from a
 * source reporting every 100 ms does not. Relay pushes start their run when they arrive.
 */
function runStart(s: EngineState, input: EngineInput, by: 'local' | 'cloud', now: number): number {
  if (input.kind !== 'feed' || by !== 'local') return now;
  if (input.feed.since != null) return Math.min(now, input.feed.since);
  const gap = s.lastFeedAt === null ? s.params.sample_interval_ms : now - s.lastFeedAt;
  return now - Math.min(gap, s.params.sample_interval_ms);
}

/** Evaluates one input. Pure: the given state is not modified. */
export function decide(state: EngineState, input: EngineInput, now: number): Decision {
  const ev = new Evaluation(structuredClone(state), now);
  const s = ev.s;
  applyInput(ev, input);
  evaluateModes(ev);
  const eff = effectiveFeed(s);
  if (eff.health !== s.run.health) s.run = { health: eff.health, since: runStart(s, input, eff.by, now) };
  if (input.kind === 'feed') s.lastFeedAt = now;
  if (input.kind === 'command') runCommand(ev, input);
  // A failed switch is retried at the next evaluation, not from its own result: no tight retry loop.
  else if (s.fatal === null && input.kind !== 'switch_result') runAutomation(ev);
  return {
    state: s,
    intent: ev.intent,
    rule: ev.rule,
    actions: ev.actions,
    events: ev.events,
    wakeAt: wakeAt(s, now),
    command: ev.command,
  };
}
