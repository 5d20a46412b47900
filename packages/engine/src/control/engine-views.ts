import type {
  AutomationFlag,
  DockConfigView,
  DockHistory,
  Mode,
  StatusSnapshotPayload,
} from '@telemy/protocol';
import type { ChatPlatformState } from '../chat/adapters/types.js';
import { oauthEntryName } from '../chat/auth/platforms.js';
import type { Platform } from '../chat/config.js';
import type { CloudLink, CloudLinkSnapshot } from '../cloudlink/cloudlink.js';
import { type ConfigStore, effectiveChatBot, type TelemyConfig } from '../config/index.js';
import { type AutomationStatus, automationStatus } from '../failover/automation-status.js';
import type { FailoverController } from '../failover/controller.js';
import { type EffectiveFeed, effectiveFeed, type FailoverState, sceneOnAir } from '../failover/machine.js';
import { isIrlMode } from '../failover/modes.js';
import type { OtlpExportStatus } from '../metrics/otlp-status.js';
import type { MetricsHub, MetricsSnapshot } from '../obs/metrics-hub.js';
import type { ObsLink } from '../obs/obs-link.js';
import type { ObsState } from '../obs/obs-state.js';
import type { SparklineHistory } from '../server/dock-sparkline.js';
import {
  buildDockState,
  type DockInputs,
  type EventInput,
  type FailoverRecordInput,
  outputSamplesFromHub,
  outputStatus,
  type RelayInput,
  systemInputFromSample,
} from '../server/dock-state.js';
import type { Vault } from '../vault/index.js';
import { relayInputOf } from './relay-view.js';
import { statusLine } from './status-line.js';
import type { EngineStatusSummary, SourceReading } from './status-summary.js';

/**
 * Every view of the engine (the dock's DockState, the shim's status snapshot, chat's `!status`,
 * `GET /api/state`) is a pure function of ONE `EngineSnapshot`, taken once per change. So no two
 * views can disagree about what is on air or why, and none classifies anything again on its own.
 */

/** What the sources layer says about the live feed right now. */
export interface FeedView extends SourceReading {
  source: string | null;
  sources: SourceReading[];
}

/** Automatic switches of this session: counted as they happen (the event ring forgets old ones). */
export interface FailoverTally {
  /** Automatic failovers (towards BRB, LOW, OFFLINE). */
  count: number;
  /** The last automatic switch, failover or recovery. */
  last: FailoverRecordInput | null;
  lastDetectionToSwitchMs: number | null;
}

/** The live objects a snapshot is read from. */
export interface EngineParts {
  version: string;
  startedAt: number;
  obs: ObsLink;
  hub: MetricsHub;
  controller: FailoverController;
  store: ConfigStore;
  vault: Vault;
  feed: () => FeedView;
  history: SparklineHistory;
  /** `ipc` when a shim executes switches, `obs` when the engine switches directly. */
  via: 'ipc' | 'obs';
  ipcReady: () => boolean;
  cloud: CloudLink | null;
  chatStates: () => ChatPlatformState[] | null;
  otlp: () => OtlpExportStatus;
  events: () => EventInput[];
  failovers: () => FailoverTally;
  /** When OBS's program scene last changed (engine clock), or null before it was seen. */
  programSince: () => number | null;
}

/** The engine at one instant, as plain data. */
export interface EngineSnapshot {
  at: number;
  version: string;
  startedAt: number;
  mode: Mode;
  state: FailoverState;
  effective: EffectiveFeed & { since: number };
  automation: AutomationStatus;
  via: 'ipc' | 'obs';
  ipc: 'ok' | 'down' | 'not_used';
  obs: ObsState;
  programSince: number | null;
  hub: MetricsSnapshot;
  feed: FeedView;
  flags: Record<AutomationFlag, boolean>;
  config: TelemyConfig;
  configView: DockConfigView;
  history: DockHistory;
  relay: RelayInput | null;
  cloud: CloudLinkSnapshot | null;
  chat: ChatPlatformState[] | null;
  otlp: OtlpExportStatus;
  failovers: FailoverTally;
  events: EventInput[];
}

export function takeSnapshot(p: EngineParts, now: number): EngineSnapshot {
  const state = p.controller.state();
  const config = p.store.config;
  return {
    at: now,
    version: p.version,
    startedAt: p.startedAt,
    mode: p.controller.mode(),
    state,
    effective: { ...effectiveFeed(state), since: state.run.since },
    automation: automationStatus(state, p.via),
    via: p.via,
    ipc: p.via === 'ipc' ? (p.ipcReady() ? 'ok' : 'down') : 'not_used',
    obs: p.obs.state(),
    programSince: p.programSince(),
    hub: p.hub.snapshot(),
    feed: p.feed(),
    flags: { ...state.flags, chat_bot: effectiveChatBot(config) },
    config,
    configView: configView(config, p.vault),
    history: p.history.snapshot(),
    relay: p.cloud ? relayInputOf(p.cloud.view()) : null,
    cloud: p.cloud?.snapshot() ?? null,
    chat: p.chatStates(),
    otlp: p.otlp(),
    failovers: p.failovers(),
    events: p.events(),
  };
}

function thresholds(c: TelemyConfig) {
  const f = c.failover;
  return {
    low_bitrate_kbps: f.low_bitrate_kbps,
    offline_bitrate_kbps: f.offline_bitrate_kbps,
    low_rtt_ms: f.low_rtt_ms,
    offline_rtt_ms: f.offline_rtt_ms,
  };
}

/**
 * The feed as automation sees it: in IRL, when the relay's view decided it, the relay is the
 * source and the local numbers do not describe it.
 */
function effectiveReading(snap: EngineSnapshot): SourceReading & { source: string | null } {
  const eff = snap.effective;
  const local = eff.by === 'local';
  return {
    name: local ? (snap.feed.source ?? '') : 'relay',
    source: local ? snap.feed.source : 'relay',
    classification: eff.health,
    reason: eff.reason,
    bitrate_kbps: local ? snap.feed.bitrate_kbps : (snap.cloud?.bonded?.total_bitrate_kbps ?? null),
    rtt_ms: local ? snap.feed.rtt_ms : null,
    loss_pct: local ? snap.feed.loss_pct : null,
  };
}

export function statusLineOf(snap: EngineSnapshot) {
  return statusLine({
    now: snap.at,
    state: snap.state,
    automation: snap.automation,
    effective: snap.effective,
    obs: snap.obs,
    programSince: snap.programSince,
    bitrateKbps: effectiveReading(snap).bitrate_kbps,
  });
}

export function dockInputsOf(snap: EngineSnapshot): DockInputs {
  const st = snap.state;
  const feed = effectiveReading(snap);
  return {
    version: snap.version,
    status: statusLineOf(snap),
    obs: snap.obs,
    outputs: snap.hub.obsConnected ? outputSamplesFromHub(snap.hub.outputs) : null,
    outputConfig: snap.config.outputs,
    engine: {
      mode: isIrlMode(st.irl) ? 'irl' : 'studio',
      state: snap.mode,
      flags: snap.flags,
      thresholds: thresholds(snap.config),
      sceneRoles: st.scenes,
      pendingSwitch: st.inFlight ? { request_id: st.inFlight.requestId, scene: st.inFlight.scene } : null,
      automation: { state: snap.automation.state, text: snap.automation.text },
      missing: snap.automation.missing.map((m) => ({ role: m.role, scene: m.scene, stand_in: m.standIn })),
      responseBudgetMs: snap.config.failover.switch_deadline_ms,
      lastFailover: snap.failovers.last,
      failoversThisSession: snap.failovers.count,
      lastDetectionToSwitchMs: snap.failovers.lastDetectionToSwitchMs,
      events: snap.events,
    },
    feed,
    history: snap.history,
    ipc: snap.ipc,
    relay: snap.relay,
    chat: chatInput(snap.chat),
    system: systemInputFromSample(snap.hub.system),
    config: snap.configView,
  };
}

export function dockStateOf(snap: EngineSnapshot) {
  return buildDockState(dockInputsOf(snap));
}

/** The dock's chat rows from the adapters' states. */
export function chatInput(states: ChatPlatformState[] | null): DockInputs['chat'] {
  if (!states) return null;
  return {
    platforms: states.map((s) => ({
      platform: s.platform,
      status: s.connected ? 'connected' : s.note ? 'error' : 'connecting',
      channel: s.channel,
      read_only: s.read_only,
      quota_left: s.quota_remaining ?? null,
      quota_pace: s.quota_pace ?? null,
      detail: s.note,
      auth: s.auth?.kind ?? 'none',
      account: s.auth?.account ?? null,
    })),
  };
}

function configView(c: TelemyConfig, vault: Vault): DockConfigView {
  // A sign-in (`telemy chat login`) or a pasted token under `token_key`.
  const token = (p: Platform, k: string | undefined) =>
    vault.has(oauthEntryName(p)) || (k ? vault.has(k) : false);
  return {
    obs: { host: c.obs.host, port: c.obs.port, password_set: vault.has(c.obs.password_key) },
    cloud: {
      mode: c.cloud.mode,
      base_url: c.cloud.base_url ?? '',
      region_preference: c.cloud.region_preference,
      api_key_set: vault.has(c.cloud.api_key_key),
    },
    otlp: {
      enabled: c.otlp.enabled,
      endpoint: c.otlp.endpoint ?? '',
      interval_ms: c.otlp.interval_ms,
      auth_set: vault.has(c.otlp.auth_value_key),
    },
    timings: {
      sample_interval_ms: c.failover.sample_interval_ms,
      offline_after_ms: c.failover.offline_after_ms,
      low_after_ms: c.failover.low_after_ms,
      recover_after_ms: c.failover.recover_after_ms,
      offline_timeout_s: c.failover.offline_timeout_s,
      offline_hold_s: c.failover.offline_hold_s,
      switch_deadline_ms: c.failover.switch_deadline_ms,
    },
    managed_extra: [...c.scenes.managed_extra],
    chat: {
      twitch: { channel: c.chat.twitch?.channel ?? '', token_set: token('twitch', c.chat.twitch?.token_key) },
      kick: { channel: c.chat.kick?.channel ?? '', token_set: token('kick', c.chat.kick?.token_key) },
      youtube: {
        channel: c.chat.youtube?.channel ?? '',
        token_set: token('youtube', c.chat.youtube?.token_key),
      },
    },
    sources: c.sources.map((s) => ({
      name: s.name,
      type: s.type,
      priority: s.priority,
      enabled: s.enabled,
      ...(s.url ? { url: s.url } : {}),
      ...(s.stats_file ? { stats_file: s.stats_file } : {}),
      ...(s.input ? { input: s.input } : {}),
    })),
    outputs: c.outputs.map((o) => ({ ...o })),
  };
}

/** The IPC `status_snapshot`: what the shim (or a native plugin) shows. */
export function statusSnapshotOf(snap: EngineSnapshot): StatusSnapshotPayload {
  const st = snap.state;
  const feed = effectiveReading(snap);
  const relay = snap.relay;
  const f = snap.flags;
  return {
    mode: isIrlMode(st.irl) ? 'irl' : 'studio',
    engine_state: snap.mode,
    health:
      feed.classification === 'normal' ? 'good' : feed.classification === 'low' ? 'degraded' : 'offline',
    bitrate_kbps: feed.bitrate_kbps,
    rtt_ms: feed.rtt_ms,
    override_enabled: f.manual_override,
    flags: {
      auto_scene_switch: f.auto_scene_switch,
      low_quality_fallback: f.low_quality_fallback,
      manual_override: f.manual_override,
      chat_bot: f.chat_bot,
      alerts: f.alerts,
    },
    thresholds: thresholds(snap.config),
    relay: {
      status: relay && relay.status !== 'stopping' ? relay.status : 'inactive',
      region: relay?.region ?? null,
      grace_remaining_seconds: relay?.grace_remaining_s ?? null,
      uptime_seconds: relay?.uptime_s ?? null,
      time_bank_seconds_remaining: relay?.time_bank?.left_s ?? null,
    },
    scene: {
      active: snap.obs.currentScene,
      pending_request_id: st.inFlight?.requestId ?? null,
      pending_scene: st.inFlight?.scene ?? null,
    },
    outputs: outputSamplesFromHub(snap.hub.outputs).map((o) => {
      const row = snap.hub.outputs.find((x) => x.id === o.id);
      return {
        id: o.id,
        name: row?.displayName ?? o.id,
        active: o.active,
        bitrate_kbps: o.bitrate_kbps,
        fps: o.fps,
        drop_ratio: row?.dropRatio ?? null,
        encoding_lag_ms: o.encoding_lag_ms,
        status: outputStatus(o),
      };
    }),
  };
}

/** Chat's `!status` / `!bitrate` and the CLI. */
export function statusSummaryOf(snap: EngineSnapshot): EngineStatusSummary {
  const relay = snap.relay;
  const stream = snap.hub.stream;
  return {
    mode: snap.mode,
    status: statusLineOf(snap).text,
    feed: effectiveReading(snap),
    sources: snap.feed.sources,
    scene: snap.obs.currentScene,
    relay: {
      status: relay?.status ?? (snap.cloud ? 'inactive' : 'off'),
      time_bank_left_s: relay?.time_bank?.left_s ?? null,
    },
    obs: {
      connected: snap.obs.connection === 'connected',
      problem: snap.obs.lastError,
      streaming: snap.obs.streaming,
      stream_duration_ms: snap.obs.streamDurationMs,
      recording: snap.obs.recording,
      bitrate_kbps: stream?.bitrateKbps ?? null,
      dropped_pct: stream && stream.dropRatio !== null ? stream.dropRatio * 100 : null,
      encoding_lag_ms: snap.hub.obs?.encodingLagMs ?? null,
    },
  };
}

/** `GET /api/state`: everything the engine knows, as plain JSON (no secrets). */
export function apiStateOf(snap: EngineSnapshot): Record<string, unknown> {
  const st = snap.state;
  return {
    status: statusLineOf(snap),
    engine: {
      version: snap.version,
      started_at: new Date(snap.startedAt).toISOString(),
      uptime_s: Math.round((snap.at - snap.startedAt) / 1000),
      mode: snap.mode,
      irl: isIrlMode(st.irl),
      scene_path: { via: snap.via, ready: st.scenePathReady },
      flags: snap.flags,
      automation: {
        state: snap.automation.state,
        guard: snap.automation.guard,
        text: snap.automation.text,
        missing: snap.automation.missing.map((m) => ({ role: m.role, scene: m.scene, stand_in: m.standIn })),
      },
      on_air: sceneOnAir(st),
      target: st.target
        ? { intent: st.target.intent, rule: st.target.rule, why: st.target.why, armed: st.armed }
        : null,
      stream: { active: st.stream.active, since_ms: st.stream.since },
      auto_stop: st.autoStop,
      pending_switch: st.inFlight,
    },
    obs: snap.obs,
    feed: { ...snap.feed, effective: effectiveReading(snap) },
    metrics: snap.hub,
    cloud: snap.cloud,
    chat: snap.chat,
    otlp: snap.otlp,
    events: snap.events.slice(-50),
  };
}
