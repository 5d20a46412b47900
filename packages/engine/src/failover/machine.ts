import {
  type BackoffPolicy,
  backoffMs,
  type FeedClass,
  type Guard,
  type Mode,
  type SceneRole,
  type SwitchError,
  type SwitchErrorCode,
} from '@telemy/protocol';
import type { RelaySignal } from '../cloudlink/relay-signals.js';
import type { SwitchReason } from '../scenes/scene-switcher.js';
import type { DraftEvent } from './events.js';
import { type ModeTrigger, transition } from './modes.js';
import {
  type AutomationFlags,
  type FailoverParams,
  managedScenes,
  type ResolvedFailoverParams,
  resolveFailoverParams,
  type SceneRoles,
} from './params.js';

/**
 * The failover decision function of `docs/ARCHITECTURE.md` ("The failover state machine"):
 * `decide(state, input, now)` is pure (no clock, no I/O, no randomness); every input is evaluated
 * when it arrives.
 *
 * Automation works in two steps. First the feed warrants an intent (`warranted`): BRB once it has
 * been offline for `offline_after_ms`, LOW once low for `low_after_ms`, LIVE once normal for
 * `recover_after_ms` and, when an OBS media source plays the feed, once that source shows new
 * frames. A change of that intent is a new automatic target. Then the target is put on air when it
 * is armed, still warranted by the feed at this evaluation, and no guard holds it. That split is
 * what keeps the streamer in charge:
 * - an explicit command disarms the target: it stands until the feed changes after it;
 * - a settings change never switches by itself: it is not an evaluation of the feed;
 * - a failed switch is retried with backoff, and a role scene missing in OBS is one event, with the
 *   `[scenes] fallback` roles standing in for BRB.
 */

export type SceneIntent = SceneRole | 'HOLD';
export type ActiveIntent = SceneRole;
/** The five rules, in priority order. */
export type RuleId = 'command' | 'local_failover' | 'cloud_signal' | 'recovery' | 'hold';
export type { Guard };
export type CommandOrigin = 'dock' | 'cli' | 'api' | 'chat';

/** The OBS media source that plays the feed, as the sources layer last saw it. */
export interface PictureObservation {
  /** The OBS input's name. */
  input: string;
  /** It shows new frames of the live feed (not buffering, black or a frozen frame). */
  playing: boolean;
  /** A few words on what it shows, for the status line. */
  detail: string;
}

/** The live feed as the sources layer classified it (after the priority list picked a source). */
export interface FeedObservation {
  health: FeedClass;
  source: string | null;
  reason: string | null;
  /** When the source knows its condition began (e.g. the last stats line before it went stale). */
  since?: number | null;
  /** Set when Telemy knows which OBS media source plays this feed: LIVE waits until it plays. */
  picture?: PictureObservation | null;
}

export type FailoverInput =
  | { kind: 'tick' }
  | { kind: 'feed'; feed: FeedObservation }
  | { kind: 'relay'; signal: RelaySignal }
  /** OBS's current program scene (event or read-back); null while OBS is unreachable. */
  | { kind: 'program_scene'; scene: string | null }
  /** OBS's scene list; null while OBS is unreachable. */
  | { kind: 'scene_list'; scenes: string[] | null }
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
  | { kind: 'switch_result'; requestId: string; ok: boolean; error: SwitchError | null };

export interface SwitchAction {
  type: 'switch';
  requestId: string;
  scene: string;
  /** The role of the scene; null for an explicit command naming a scene outside the roles. */
  intent: ActiveIntent | null;
  rule: RuleId;
  reason: SwitchReason;
  /** Why, in a few words (e.g. "stats stale (1.2 s old)"). */
  why: string;
  /** When the condition that fired the rule was detected (engine clock, ms). */
  detectedAt: number;
  deadlineMs: number;
}

export type FailoverAction =
  | SwitchAction
  | { type: 'mode_transition'; from: Mode; to: Mode; trigger: ModeTrigger }
  | { type: 'notice'; level: 'info' | 'warn' | 'error'; text: string }
  | { type: 'stop_stream'; reason: string }
  /** Protocol-error storm: drop and re-establish the scene path instead of crashing. */
  | { type: 'reset_scene_path'; reason: string };

/** Why a command was refused: a guard, and the sentence every surface shows for it. */
export interface Refusal {
  guard: Guard;
  text: string;
}

export interface CommandOutcome {
  ok: boolean;
  requestId: string | null;
  scene: string | null;
  refusal: Refusal | null;
  /** True when the scene was already on air: nothing to switch. */
  alreadyOnAir: boolean;
}

export interface Decision {
  state: FailoverState;
  /** Exactly one per evaluation. */
  intent: SceneIntent;
  rule: RuleId;
  actions: FailoverAction[];
  events: DraftEvent[];
  /** The next time an evaluation could change something without a new input (timer to set), or null. */
  wakeAt: number | null;
  /** Set for `command` inputs only. */
  command: CommandOutcome | null;
}

export interface Target {
  intent: ActiveIntent;
  rule: RuleId;
  /** Why the feed warrants it, as of the latest evaluation. */
  why: string;
  detectedAt: number;
}

export interface FailoverState {
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
  /** OBS's scene list, or null while it is not known (then every scene is assumed to exist). */
  obsScenes: string[] | null;
  /** OBS's stream output, and since when it has been active (engine clock). */
  stream: { active: boolean; since: number | null };
  local: FeedObservation;
  cloud: { health: FeedClass; reason: string | null };
  /** The current run of the effective feed class: how long it has lasted drives hysteresis. */
  run: { health: FeedClass; since: number };
  /** When the last `feed` input arrived. */
  lastFeedAt: number | null;
  /** What the feed last warranted (null before the first conclusion). */
  target: Target | null;
  /** The target still has to be put on air (new, or held by a guard, or failed). */
  armed: boolean;
  /** When the last explicit command was accepted: automation holds until the feed changes after it. */
  commandAt: number | null;
  /** The `offline_timeout_s` stop: since when OFFLINE has been on air, and whether StopStream went out. */
  autoStop: { onAirSince: number; issued: boolean } | null;
  /** Automatic switches to `scene` that failed: the next attempt waits until `nextAt`. */
  retry: { scene: string; failures: number; nextAt: number; code: SwitchErrorCode } | null;
  inFlight: { requestId: string; scene: string; automatic: boolean } | null;
  /**
   * A scene our switch put on air whose OBS report has not arrived yet. Until it does, that scene
   * is on air: an intent decided in between must not compare against the stale program scene.
   */
  unreported: string | null;
  /** The last guard reported, so a blocked intent is logged once, not on every tick. */
  lastGuard: string | null;
  /** Role scenes reported missing in OBS: each is one event until OBS has it again. */
  reportedMissing: string[];
  idPrefix: string;
  seq: number;
}

export interface FailoverInit {
  params: FailoverParams;
  flags: AutomationFlags;
  scenes: SceneRoles;
  /** Prefix of generated request ids; make it unique per engine run (e.g. a few random characters). */
  idPrefix: string;
  now: number;
}

export function createFailoverState(init: FailoverInit): FailoverState {
  return {
    params: resolveFailoverParams(init.params),
    flags: { ...init.flags },
    scenes: copyRoles(init.scenes),
    irl: 'STUDIO',
    degraded: null,
    fatal: null,
    modeSince: init.now,
    relay: { telemetry: false, ingest: 'unknown', downSince: null, graceUntil: null },
    scenePathReady: false,
    scenePathEverReady: false,
    programScene: null,
    obsScenes: null,
    stream: { active: false, since: null },
    local: { health: 'unknown', source: null, reason: null },
    cloud: { health: 'unknown', reason: null },
    run: { health: 'unknown', since: init.now },
    lastFeedAt: null,
    target: null,
    armed: false,
    commandAt: null,
    autoStop: null,
    retry: null,
    inFlight: null,
    unreported: null,
    lastGuard: null,
    reportedMissing: [],
    idPrefix: init.idPrefix,
    seq: 0,
  };
}

function copyRoles(r: SceneRoles): SceneRoles {
  return { ...r, managed_extra: [...r.managed_extra], fallback: [...r.fallback] };
}

/** The top-level mode as the outside world sees it. */
export function currentMode(s: FailoverState): Mode {
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

/** The scene actually on air for automation's purposes: what we are switching to, or OBS's report. */
export function sceneOnAir(s: FailoverState): string | null {
  return s.inFlight?.scene ?? s.unreported ?? s.programScene;
}

/** The first guard holding automatic switches, or null when automation would act now. */
export function firstAutoGuard(s: FailoverState): Guard | null {
  if (s.fatal !== null) return 'fatal';
  if (!s.scenePathReady) return 'scene_path';
  if (s.degraded !== null) return 'degraded';
  if (s.flags.manual_override) return 'manual_override';
  if (!s.flags.auto_scene_switch) return 'auto_scene_switch';
  if (s.flags.only_while_streaming && !s.stream.active) return 'not_streaming';
  if (s.programScene === null) return 'program_scene_unknown';
  if (!managedScenes(s.scenes).includes(s.programScene)) return 'unmanaged_scene';
  return null;
}

/**
 * Role scenes OBS does not have (when its scene list is known). BRB is listed only when no fallback
 * role can stand in for it; `standIn` names the scene that would.
 */
export function missingRoleScenes(
  s: FailoverState,
): Array<{ role: ActiveIntent; scene: string; standIn: string | null }> {
  if (s.obsScenes === null) return [];
  const out: Array<{ role: ActiveIntent; scene: string; standIn: string | null }> = [];
  for (const role of ['LIVE', 'LOW', 'BRB', 'OFFLINE'] as const) {
    const scene = sceneFor(role, s.scenes);
    if (scene === '' || s.obsScenes.includes(scene)) continue;
    const pick = pickScene(s, role);
    out.push({ role, scene, standIn: pick.scene });
  }
  return out;
}

const RANK: Record<FeedClass, number> = { unknown: 0, normal: 1, low: 2, offline: 3 };

/**
 * How long LIVE waits for the OBS media source playing the feed to show new frames once the feed is
 * healthy: past it, LIVE goes on air anyway (a still picture never shows as moving).
 */
export const PICTURE_WAIT_MAX_MS = 10_000;

/** A failed automatic switch is retried after 0.5 s, 1 s, 2 s … up to 10 s, never in a tight loop. */
export const SWITCH_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 10_000 };

/**
 * A gap between two feed evaluations longer than this means the engine itself was stalled (a
 * blocked event loop, a suspended machine): a sample that was fresh before the gap may look stale
 * after it for no fault of the feed. The stale window (`offline_after_ms` + one sample interval),
 * and never less than one and a half ticks so the ordinary tick jitter does not count.
 */
export function stallWindowMs(p: ResolvedFailoverParams): number {
  return Math.max(p.offline_after_ms + p.sample_interval_ms, 1.5 * p.sample_interval_ms);
}

class Evaluation {
  readonly actions: FailoverAction[] = [];
  readonly events: DraftEvent[] = [];
  intent: SceneIntent = 'HOLD';
  rule: RuleId = 'hold';
  command: CommandOutcome | null = null;

  constructor(
    readonly s: FailoverState,
    readonly now: number,
  ) {}

  event(
    level: DraftEvent['level'],
    kind: string,
    text: string,
    data: Record<string, unknown> = {},
    opts: { requestId?: string; quiet?: boolean } = {},
  ) {
    this.events.push({
      level,
      kind,
      text,
      data,
      request_id: opts.requestId ?? null,
      ...(opts.quiet ? { quiet: true } : {}),
    });
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
    const judgedBefore = irlFeedRelevant(s);
    s.irl = to;
    // Going IRL (or back) changes which feed automation judges: its decision starts afresh, so the
    // relay's first healthy report is a change of the feed even after a command.
    if (irlFeedRelevant(s) !== judgedBefore) {
      s.target = null;
      s.armed = false;
    }
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

function lowUsable(s: FailoverState): boolean {
  return s.flags.low_quality_fallback && s.scenes.low !== '';
}

function irlFeedRelevant(s: FailoverState): boolean {
  return s.irl === 'IRL_CONNECTING' || s.irl === 'IRL_ACTIVE' || s.irl === 'IRL_GRACE';
}

export interface EffectiveFeed {
  health: FeedClass;
  by: 'local' | 'cloud';
  reason: string;
}

/**
 * The feed automation acts on: the worse of the local feed and, in IRL modes, the relay's view. In
 * IRL the phone's picture reaches OBS through the relay, so a relay that has not reported the
 * ingest yet is not a healthy feed, whatever the local sources say.
 */
export function effectiveFeed(s: FailoverState): EffectiveFeed {
  const local = s.local;
  let eff: EffectiveFeed = {
    health: local.health,
    by: 'local',
    reason: local.reason ?? `feed ${local.health}`,
  };
  if (irlFeedRelevant(s)) {
    const cloud = s.cloud;
    if (RANK[cloud.health] > RANK[local.health]) {
      eff = { health: cloud.health, by: 'cloud', reason: cloud.reason ?? `relay feed ${cloud.health}` };
    } else if (cloud.health === 'unknown' && local.health === 'normal') {
      eff = { health: 'unknown', by: 'cloud', reason: "waiting for the relay to report the phone's feed" };
    }
  }
  if (eff.health === 'low' && !lowUsable(s)) eff = { ...eff, health: 'normal' };
  return eff;
}

function needMs(s: FailoverState, eff: EffectiveFeed): number | null {
  const p = s.params;
  if (eff.health === 'unknown') return null;
  // A relay push ("ingest stalled") is already a debounced fact: act on it at once.
  if (eff.health === 'offline') return eff.by === 'cloud' ? 0 : p.offline_after_ms;
  const fromBad = s.target?.intent === 'BRB' || s.target?.intent === 'OFFLINE';
  if (eff.health === 'low') return fromBad ? Math.max(p.low_after_ms, p.recover_after_ms) : p.low_after_ms;
  return p.recover_after_ms;
}

/**
 * When the `offline_timeout_s` stop is due: the feed offline for that long while streaming, counted
 * from the stream's start at the earliest, so a stream just (re)started is never stopped at once.
 */
export function offlineTimeoutAt(s: FailoverState): number | null {
  const timeout = s.params.offline_timeout_s * 1000;
  if (timeout <= 0 || !s.stream.active || s.stream.since === null) return null;
  if (effectiveFeed(s).health !== 'offline') return null;
  return Math.max(s.run.since, s.stream.since) + timeout;
}

/** What the feed warrants now (rules 2–4), or null while it warrants nothing yet (rule 5: HOLD). */
export function warranted(s: FailoverState, now: number): Target | null {
  const eff = effectiveFeed(s);
  const need = needMs(s, eff);
  if (need === null || now - s.run.since < need) return null;
  const rule: RuleId = eff.by === 'local' ? 'local_failover' : 'cloud_signal';
  if (eff.health === 'offline') {
    const stopAt = offlineTimeoutAt(s);
    if (stopAt !== null && now >= stopAt) {
      return {
        intent: 'OFFLINE',
        rule,
        why: `feed offline for ${s.params.offline_timeout_s} s while streaming (${eff.reason})`,
        detectedAt: now,
      };
    }
    return { intent: 'BRB', rule, why: eff.reason, detectedAt: now };
  }
  if (eff.health === 'low') {
    const recovering = s.target?.intent === 'BRB' || s.target?.intent === 'OFFLINE';
    return { intent: 'LOW', rule: recovering ? 'recovery' : rule, why: eff.reason, detectedAt: now };
  }
  const held = `feed normal for ${((now - s.run.since) / 1000).toFixed(1)} s`;
  const picture = s.local.picture;
  let why = held;
  if (picture) {
    // A picture that never moves (a static scene) cannot be confirmed: LIVE goes on air after a
    // bound, saying so, rather than never.
    if (!picture.playing && now - s.run.since < PICTURE_WAIT_MAX_MS) return null;
    why = picture.playing
      ? `${held}, ${picture.input} shows the picture`
      : `${held}; ${picture.input}'s picture not confirmed (${picture.detail})`;
  }
  return { intent: 'LIVE', rule: 'recovery', why, detectedAt: now };
}

/**
 * The scene that carries `intent` in OBS: its role scene, or for BRB the first `[scenes] fallback`
 * role whose scene exists. `scene` is null when nothing can carry it; `missing` names the role scene
 * OBS lacks.
 */
function pickScene(s: FailoverState, intent: ActiveIntent): { scene: string | null; missing: string | null } {
  const scene = sceneFor(intent, s.scenes);
  if (s.obsScenes === null || s.obsScenes.includes(scene)) return { scene, missing: null };
  if (intent === 'BRB') {
    for (const role of s.scenes.fallback) {
      if (role === 'BRB') continue;
      const alt = sceneFor(role, s.scenes);
      if (alt !== '' && s.obsScenes.includes(alt)) return { scene: alt, missing: scene };
    }
  }
  return { scene: null, missing: scene };
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
  // The event log gets one entry per switch, when OBS has answered; the request goes to the log only.
  ev.event(
    'info',
    'switch_requested',
    `switch to ${scene} (${intent ?? 'scene'}, ${rule}: ${why})`,
    { scene, intent, rule, reason, why },
    { requestId, quiet: true },
  );
  return action;
}

function runCommand(ev: Evaluation, input: Extract<FailoverInput, { kind: 'command' }>) {
  const s = ev.s;
  const c = input.command;
  const scene = 'intent' in c ? sceneFor(c.intent, s.scenes) : c.scene;
  const intent: ActiveIntent | null = 'intent' in c ? c.intent : intentOfScene(scene, s.scenes);
  const refuse = (guard: Guard, text: string) => {
    ev.command = {
      ok: false,
      requestId: null,
      scene: scene || null,
      refusal: { guard, text },
      alreadyOnAir: false,
    };
    ev.event('warn', 'guard_rejected', `${input.origin} command refused: ${text}`, {
      guard,
      origin: input.origin,
      scene,
    });
  };
  ev.intent = intent ?? 'HOLD';
  ev.rule = 'command';
  if (scene === '') return refuse('no_scene', 'no LOW scene is configured');
  if (s.fatal !== null) return refuse('fatal', `the engine stopped automation: ${s.fatal}`);
  if (!s.scenePathReady) return refuse('scene_path', 'the scene path to OBS is not ready');
  if (s.obsScenes !== null && !s.obsScenes.includes(scene))
    return refuse('scene_missing', `OBS has no scene named "${scene}"`);
  if (s.inFlight === null && s.programScene === scene) {
    ev.command = { ok: true, requestId: null, scene, refusal: null, alreadyOnAir: true };
    return;
  }
  const requestId = input.requestId ?? ev.nextRequestId();
  const reason: SwitchReason = input.origin === 'chat' ? 'chat_command' : 'manual';
  // The operator's choice stands until the feed changes after it; a pending auto-stop is called off.
  s.armed = false;
  s.commandAt = ev.now;
  s.autoStop = null;
  s.retry = null;
  switchAction(ev, intent, scene, 'command', reason, `${input.origin} command`, ev.now, requestId);
  ev.command = { ok: true, requestId, scene, refusal: null, alreadyOnAir: false };
}

/** Inputs that are an evaluation of the feed and OBS: only these may put a scene on air by automation. */
function evaluatesFeed(input: FailoverInput): boolean {
  switch (input.kind) {
    case 'tick':
    case 'feed':
    case 'relay':
    case 'program_scene':
    case 'scene_list':
    case 'scene_path':
    case 'stream_status':
      return true;
    // Settings never switch by themselves; a failed switch is retried by a later evaluation, not
    // from its own result (no tight loop); commands and mode faults are handled on their own.
    default:
      return false;
  }
}

function reportMissing(ev: Evaluation, intent: ActiveIntent, missing: string, standIn: string | null) {
  const s = ev.s;
  if (s.reportedMissing.includes(missing)) return;
  s.reportedMissing.push(missing);
  const text = standIn
    ? `scene '${missing}' does not exist in OBS: '${standIn}' goes on air instead of ${intent}`
    : `scene '${missing}' does not exist in OBS: automation cannot put ${intent} on air`;
  ev.event('warn', 'scene_missing', text, { scene: missing, intent, stand_in: standIn });
}

function runAutomation(ev: Evaluation, input: FailoverInput) {
  const s = ev.s;
  const want = warranted(s, ev.now);
  if (want !== null && want.intent !== s.target?.intent) {
    s.target = want;
    // A command stands until the feed changes after it: a run that began before it re-arms nothing.
    s.armed = s.commandAt === null || s.run.since > s.commandAt;
    s.retry = null;
    s.lastGuard = null;
    if (want.intent !== 'OFFLINE') s.autoStop = null;
    ev.event(
      'info',
      'intent',
      `intent ${want.intent} by ${want.rule}: ${want.why}`,
      { intent: want.intent, rule: want.rule, reason: want.why },
      { quiet: true },
    );
  } else if (want !== null && s.target !== null) {
    s.target.why = want.why;
  }
  const t = s.target;
  if (t === null) return;
  // The evaluation's intent is HOLD unless a rule fires now: a new target, or a switch sent for one.
  const fires = () => {
    ev.intent = t.intent;
    ev.rule = t.rule;
  };
  if (t === want) fires();
  if (!evaluatesFeed(input) || want?.intent !== t.intent) return;
  const pick = pickScene(s, t.intent);
  if (pick.missing !== null) reportMissing(ev, t.intent, pick.missing, pick.scene);
  if (pick.scene === null) {
    // Without an OFFLINE scene the failover scene stays on air and the hold counts all the same;
    // a command in force (disarmed target) calls the stop off.
    if (t.intent === 'OFFLINE' && s.armed) stopAfterHold(ev, t);
    return;
  }
  if (sceneOnAir(s) === pick.scene) {
    s.armed = false;
    // The hold counts from OBS's own report that OFFLINE is on program, not from our request.
    if (t.intent === 'OFFLINE' && s.programScene === pick.scene) stopAfterHold(ev, t);
    return;
  }
  if (!s.armed) return;
  const guard = firstAutoGuard(s);
  if (guard !== null) {
    const key = `${guard}:${t.intent}`;
    if (s.lastGuard !== key) {
      s.lastGuard = key;
      ev.event('info', 'guard_rejected', `automatic ${t.intent} held: ${guard.replaceAll('_', ' ')}`, {
        guard,
        intent: t.intent,
        rule: t.rule,
      });
    }
    return;
  }
  if (s.retry !== null && s.retry.scene === pick.scene && ev.now < s.retry.nextAt) return;
  // A target a guard held (automation off, override, unmanaged scene) is acted on only now: the
  // detection-to-switch figure starts when automation was allowed to act, not during the hold.
  const detectedAt = s.lastGuard !== null ? ev.now : t.detectedAt;
  s.armed = false;
  s.lastGuard = null;
  const reason: SwitchReason = t.rule === 'recovery' ? 'auto_recover' : 'auto_failover';
  const why = pick.missing ? `${t.why}; '${pick.missing}' missing in OBS` : t.why;
  fires();
  switchAction(ev, t.intent, pick.scene, t.rule, reason, why, detectedAt, ev.nextRequestId());
}

/** `offline_timeout_s`: once OFFLINE has been on air for `offline_hold_s`, the stream is stopped. */
function stopAfterHold(ev: Evaluation, t: Target) {
  const s = ev.s;
  if (!s.stream.active || s.autoStop?.issued) return;
  if (firstAutoGuard(s) !== null) return;
  s.autoStop ??= { onAirSince: ev.now, issued: false };
  if (ev.now - s.autoStop.onAirSince < s.params.offline_hold_s * 1000) return;
  s.autoStop.issued = true;
  const reason = `feed offline for ${s.params.offline_timeout_s} s while streaming`;
  ev.actions.push({ type: 'stop_stream', reason });
  ev.event('warn', 'stream_stop_requested', `Telemy is stopping the stream: ${reason}`, {
    reason,
    why: t.why,
  });
  ev.notice('warn', `Telemy is stopping the stream: ${reason}`);
}

/**
 * A feed observation after the engine's own stall says nothing about the feed: every sample looks
 * old because the engine did not look. It counts as unknown; fresh samples decide again.
 */
function stallFree(s: FailoverState, feed: FeedObservation, now: number): FeedObservation {
  const gap = s.lastFeedAt === null ? 0 : now - s.lastFeedAt;
  if (gap <= stallWindowMs(s.params)) return feed;
  return {
    health: 'unknown',
    source: feed.source,
    reason: `the engine was unresponsive for ${(gap / 1000).toFixed(1)} s; waiting for fresh samples`,
    picture: feed.picture ?? null,
  };
}

function applyInput(ev: Evaluation, input: FailoverInput) {
  const s = ev.s;
  switch (input.kind) {
    case 'tick':
    case 'command':
      return;
    case 'feed': {
      const feed = stallFree(s, input.feed, ev.now);
      if (feed !== input.feed) {
        ev.event('warn', 'engine_stalled', `${feed.reason}: no switch is decided from the gap`, {
          gap_ms: ev.now - (s.lastFeedAt ?? ev.now),
        });
      }
      s.local = { ...feed };
      return;
    }
    case 'relay':
      applyRelaySignal(ev, input.signal);
      return;
    case 'program_scene':
      s.programScene = input.scene;
      s.unreported = null;
      if (input.scene !== null && s.scenePathReady && s.degraded) s.degraded.probeOk = true;
      return;
    case 'scene_list':
      s.obsScenes = input.scenes === null ? null : [...input.scenes];
      if (input.scenes !== null) {
        const have = input.scenes;
        s.reportedMissing = s.reportedMissing.filter((scene) => !have.includes(scene));
        if (s.retry?.code === 'scene_missing') s.retry = null;
      }
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
      if (input.active === s.stream.active) return;
      s.stream = { active: input.active, since: input.active ? ev.now : null };
      s.autoStop = null;
      return;
    case 'flags': {
      const before = s.flags;
      s.flags = { ...before, ...input.flags };
      for (const [k, v] of Object.entries(input.flags)) {
        if (before[k as keyof AutomationFlags] !== v)
          ev.event('info', 'setting_changed', `${k} = ${v}`, { key: k, value: v });
      }
      return;
    }
    case 'config':
      if (input.params) s.params = resolveFailoverParams(input.params);
      if (input.scenes) s.scenes = copyRoles(input.scenes);
      return;
    case 'switch_result': {
      const f = s.inFlight;
      if (f === null || f.requestId !== input.requestId) return;
      s.inFlight = null;
      // The program scene is only ever taken from OBS's own reports (a late result must not
      // overwrite a newer scene change by the operator).
      if (input.ok) {
        s.unreported = s.programScene === f.scene ? null : f.scene;
        if (f.automatic) s.retry = null;
        return;
      }
      const code = input.error?.code ?? 'not_confirmed';
      if (code === 'scene_missing' && s.obsScenes !== null)
        s.obsScenes = s.obsScenes.filter((scene) => scene !== f.scene);
      if (!f.automatic) return;
      s.armed = true;
      const failures = s.retry?.scene === f.scene ? s.retry.failures + 1 : 1;
      // No jitter: one engine retrying one OBS has nobody to spread out from.
      const delay = backoffMs(SWITCH_RETRY, failures - 1);
      s.retry = { scene: f.scene, failures, nextAt: ev.now + delay, code };
      return;
    }
  }
}

function wakeAt(s: FailoverState, now: number): number | null {
  const at: number[] = [];
  const eff = effectiveFeed(s);
  const need = needMs(s, eff);
  if (need !== null) at.push(s.run.since + need);
  const stopAt = offlineTimeoutAt(s);
  if (stopAt !== null) at.push(stopAt);
  if (eff.health === 'normal' && s.local.picture && !s.local.picture.playing)
    at.push(s.run.since + PICTURE_WAIT_MAX_MS);
  if (s.autoStop && !s.autoStop.issued) at.push(s.autoStop.onAirSince + s.params.offline_hold_s * 1000);
  if (s.retry !== null) at.push(s.retry.nextAt);
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
function runStart(s: FailoverState, input: FailoverInput, by: 'local' | 'cloud', now: number): number {
  if (input.kind !== 'feed' || by !== 'local' || s.local.health === 'unknown') return now;
  if (s.local.since != null) return Math.min(now, s.local.since);
  const gap = s.lastFeedAt === null ? s.params.sample_interval_ms : now - s.lastFeedAt;
  return now - Math.min(gap, s.params.sample_interval_ms);
}

/** Evaluates one input. Pure: the given state is not modified. */
export function decide(state: FailoverState, input: FailoverInput, now: number): Decision {
  const ev = new Evaluation(structuredClone(state), now);
  const s = ev.s;
  applyInput(ev, input);
  evaluateModes(ev);
  const eff = effectiveFeed(s);
  if (eff.health !== s.run.health) s.run = { health: eff.health, since: runStart(s, input, eff.by, now) };
  if (input.kind === 'feed') s.lastFeedAt = now;
  if (input.kind === 'command') runCommand(ev, input);
  else if (s.fatal === null) runAutomation(ev, input);
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
