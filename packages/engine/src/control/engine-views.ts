import type { DockConfigView, StatusSnapshotPayload } from '@telemy/protocol';
import type { ChatPlatformState } from '../chat/adapters/types.js';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import { type ConfigStore, effectiveChatBot } from '../config/index.js';
import type { MetricsHub } from '../obs/metrics-hub.js';
import type { ObsLink } from '../obs/obs-link.js';
import type { SparklineHistory } from '../server/dock-sparkline.js';
import {
  type DockInputs,
  type EventInput,
  type FailoverRecordInput,
  outputSamplesFromHub,
  outputStatus,
  systemInputFromSample,
} from '../server/dock-state.js';
import type { FailoverController } from '../state/controller.js';
import { isIrlMode } from '../state/modes.js';
import type { Vault } from '../vault/index.js';
import type { EngineStatusSummary, SourceReading } from './status-summary.js';

/** What the sources layer says about the live feed right now. */
export interface FeedView extends SourceReading {
  source: string | null;
  sources: SourceReading[];
}

/** Automatic failovers of this session: counted as they happen (the event ring forgets old ones). */
export interface FailoverTally {
  count: number;
  last: FailoverRecordInput | null;
  lastDetectionToSwitchMs: number | null;
}

export interface EngineParts {
  version: string;
  obs: ObsLink;
  hub: MetricsHub;
  controller: FailoverController;
  store: ConfigStore;
  vault: Vault;
  feed: () => FeedView;
  history: SparklineHistory;
  ipc: { used: boolean; ready: () => boolean };
  cloud: CloudLink | null;
  chatStates: () => ChatPlatformState[] | null;
  events: () => EventInput[];
  failovers: () => FailoverTally;
}

function flags(p: EngineParts) {
  const f = p.controller.state().flags;
  return {
    auto_scene_switch: f.auto_scene_switch,
    low_quality_fallback: f.low_quality_fallback,
    manual_override: f.manual_override,
    chat_bot: effectiveChatBot(p.store.config),
    alerts: f.alerts,
  };
}

function thresholds(p: EngineParts) {
  const f = p.store.config.failover;
  return {
    low_bitrate_kbps: f.low_bitrate_kbps,
    offline_bitrate_kbps: f.offline_bitrate_kbps,
    low_rtt_ms: f.low_rtt_ms,
    offline_rtt_ms: f.offline_rtt_ms,
  };
}

export function dockInputs(p: EngineParts): DockInputs {
  const st = p.controller.state();
  const mode = p.controller.mode();
  const snap = p.hub.snapshot();
  const feed = p.feed();
  const tally = p.failovers();
  return {
    version: p.version,
    obs: p.obs.state(),
    outputs: snap.obsConnected ? outputSamplesFromHub(snap.outputs) : null,
    outputConfig: p.store.config.outputs,
    engine: {
      mode: isIrlMode(st.irl) ? 'irl' : 'studio',
      state: mode,
      flags: flags(p),
      thresholds: thresholds(p),
      sceneRoles: p.store.config.scenes,
      pendingSwitch: st.inFlight ? { request_id: st.inFlight.requestId, scene: st.inFlight.scene } : null,
      scenePathReady: st.scenePathReady,
      responseBudgetMs: p.store.config.failover.switch_deadline_ms,
      lastFailover: tally.last,
      failoversThisSession: tally.count,
      lastDetectionToSwitchMs: tally.lastDetectionToSwitchMs,
      events: p.events(),
    },
    feed: feed.sources.length > 0 || feed.classification !== 'unknown' ? feed : null,
    history: p.history.snapshot(),
    ipc: p.ipc.used ? (p.ipc.ready() ? 'ok' : 'down') : 'not_used',
    relay: p.cloud ? p.cloud.dockRelayInput() : null,
    chat: chatInput(p.chatStates()),
    system: systemInputFromSample(snap.system),
    config: configView(p),
  };
}

function chatInput(states: ChatPlatformState[] | null): DockInputs['chat'] {
  if (!states) return null;
  return {
    platforms: states.map((s) => ({
      platform: s.platform,
      status: s.connected ? 'connected' : s.note ? 'error' : 'connecting',
      channel: s.channel,
      read_only: s.read_only,
      quota_left: s.quota_remaining ?? null,
      detail: s.note,
    })),
  };
}

function configView(p: EngineParts): DockConfigView {
  const c = p.store.config;
  const token = (k: string | undefined) => (k ? p.vault.has(k) : false);
  return {
    obs: { host: c.obs.host, port: c.obs.port, password_set: p.vault.has(c.obs.password_key) },
    cloud: {
      mode: c.cloud.mode,
      base_url: c.cloud.base_url ?? '',
      region_preference: c.cloud.region_preference,
      api_key_set: p.vault.has(c.cloud.api_key_key),
    },
    otlp: {
      enabled: c.otlp.enabled,
      endpoint: c.otlp.endpoint ?? '',
      interval_ms: c.otlp.interval_ms,
      auth_set: p.vault.has(c.otlp.auth_value_key),
    },
    timings: {
      sample_interval_ms: c.failover.sample_interval_ms,
      offline_after_ms: c.failover.offline_after_ms,
      low_after_ms: c.failover.low_after_ms,
      recover_after_ms: c.failover.recover_after_ms,
      offline_timeout_s: c.failover.offline_timeout_s,
      switch_deadline_ms: c.failover.switch_deadline_ms,
    },
    managed_extra: [...c.scenes.managed_extra],
    chat: {
      twitch: { channel: c.chat.twitch?.channel ?? '', token_set: token(c.chat.twitch?.token_key) },
      kick: { channel: c.chat.kick?.channel ?? '', token_set: token(c.chat.kick?.token_key) },
      youtube: { channel: c.chat.youtube?.channel ?? '', token_set: token(c.chat.youtube?.token_key) },
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

/** The IPC `status_snapshot` (spec 20 §3): what the shim (or a native plugin) shows. */
export function statusSnapshot(p: EngineParts): StatusSnapshotPayload {
  const st = p.controller.state();
  const feed = p.feed();
  const relay = p.cloud?.dockRelayInput() ?? null;
  const snap = p.hub.snapshot();
  const f = flags(p);
  return {
    mode: isIrlMode(st.irl) ? 'irl' : 'studio',
    engine_state: p.controller.mode(),
    health:
      feed.classification === 'normal' ? 'good' : feed.classification === 'low' ? 'degraded' : 'offline',
    bitrate_kbps: feed.bitrate_kbps,
    rtt_ms: feed.rtt_ms,
    override_enabled: f.manual_override,
    flags: f,
    thresholds: thresholds(p),
    relay: {
      status: relay && relay.status !== 'stopping' ? relay.status : 'inactive',
      region: relay?.region ?? null,
      grace_remaining_seconds: relay?.grace_remaining_s ?? null,
      uptime_seconds: relay?.uptime_s ?? null,
      time_bank_seconds_remaining: relay?.time_bank?.left_s ?? null,
    },
    scene: {
      active: p.obs.state().currentScene,
      pending_request_id: st.inFlight?.requestId ?? null,
      pending_scene: st.inFlight?.scene ?? null,
    },
    outputs: outputSamplesFromHub(snap.outputs).map((o) => {
      const row = snap.outputs.find((x) => x.id === o.id);
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

export function statusSummary(p: EngineParts): EngineStatusSummary {
  const feed = p.feed();
  const relay = p.cloud?.dockRelayInput() ?? null;
  return {
    mode: p.controller.mode(),
    feed,
    sources: feed.sources,
    scene: p.obs.state().currentScene,
    relay: {
      status: relay?.status ?? (p.cloud ? 'inactive' : 'off'),
      time_bank_left_s: relay?.time_bank?.left_s ?? null,
    },
  };
}
