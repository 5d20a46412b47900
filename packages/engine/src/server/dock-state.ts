import {
  type AutomationState,
  type DockAutomationFlag,
  type DockChatPlatform,
  type DockConfigView,
  type DockEvent,
  type DockHistory,
  type DockLinkRow,
  type DockOutputGroup,
  type DockOutputRow,
  type DockOutputStatus,
  type DockRelay,
  type DockState,
  type DockStatus,
  type DockThresholds,
  type FeedClass,
  MAX_DOCK_EVENTS,
  type Mode,
  type SceneRole,
} from '@telemy/protocol';
import QRCode from 'qrcode';
import { managedScenes, type SceneRoles } from '../failover/params.js';
import type { OutputSnapshot } from '../obs/metrics-hub.js';
import type { SystemSample } from '../system/system-metrics.js';

/**
 * Pure projection from what the engine knows to the DockState it pushes. The caller maps
 * its live objects into `DockInputs`; this file only reshapes, derives display values (elapsed
 * seconds, output status, link signal bars, totals) and hides what must stay hidden. A producer that
 * is absent (`null`/`undefined`) yields its section's explicit "not configured / unknown" state.
 */

export interface ObsInput {
  connection: 'connecting' | 'connected' | 'disconnected' | 'auth_failed';
  lastError: string | null;
  scenes: string[];
  currentScene: string | null;
  streaming: boolean;
  recording: boolean;
  streamDurationMs: number | null;
  recordDurationMs: number | null;
}

/** One output's latest sample from the metrics hub. */
export interface OutputSampleInput {
  id: string;
  active: boolean;
  bitrate_kbps: number | null;
  fps: number | null;
  drop_pct: number | null;
  encoding_lag_ms: number | null;
  /** OBS is reconnecting this output to its server. */
  reconnecting?: boolean;
}

export interface OutputConfigInput {
  obs_id: string;
  display_name: string;
  encoder_group: string;
  hidden: boolean;
}

export interface FailoverRecordInput {
  at_ms: number;
  scene: string;
  reason: string;
  rule: string;
  request_id: string;
}

export interface EventInput {
  id: number;
  at_ms: number;
  level: 'info' | 'warn' | 'error';
  text: string;
  request_id?: string | null;
  acked?: boolean;
  /** Machine-readable kind and details (engine events); the dock shows only the text. */
  kind?: string;
  data?: Record<string, unknown>;
}

/** What the dock's engine section is built from. */
export interface EngineSectionInput {
  mode: 'studio' | 'irl';
  state: Mode;
  flags: Record<DockAutomationFlag, boolean>;
  thresholds: DockThresholds;
  sceneRoles: SceneRoles;
  pendingSwitch: { request_id: string; scene: string } | null;
  /** How automation stands (armed, waiting, paused, blocked) and why, in one sentence. */
  automation: { state: AutomationState; text: string };
  /** Role scenes OBS lacks, and what stands in for them. */
  missing: Array<{ role: SceneRole; scene: string; stand_in: string | null }>;
  /** Deadline a switch must meet (`switch_deadline_ms`). */
  responseBudgetMs: number;
  lastFailover: FailoverRecordInput | null;
  failoversThisSession: number;
  lastDetectionToSwitchMs: number | null;
  events: readonly EventInput[];
}

export interface FeedInput {
  classification: FeedClass;
  reason: string | null;
  source: string | null;
  bitrate_kbps: number | null;
  rtt_ms: number | null;
  loss_pct: number | null;
}

export interface RelayLinkInput {
  label: string;
  status: 'active' | 'degraded' | 'disconnected';
  bitrate_kbps: number | null;
  rtt_ms: number | null;
  loss_pct: number | null;
  jitter_ms: number | null;
}

export interface RelayInput {
  status: 'inactive' | 'provisioning' | 'active' | 'grace' | 'stopping';
  region: string | null;
  uptime_s: number | null;
  latency_ms: number | null;
  instance: string | null;
  grace_remaining_s: number | null;
  time_bank: { left_s: number; used_s: number } | null;
  /** Present while a session has pairing details; shown only when `pairingRevealed`. */
  pairing: { srt_url: string; srtla_url: string | null; qr_svg: string; obs_source_url: string } | null;
  pairingRevealed: boolean;
  /** The relay address the phone is given and why; absent or null without a relay address. */
  phone_address?: { host: string; reason: string } | null;
  /** null: no relay telemetry yet. */
  links: readonly RelayLinkInput[] | null;
  detail: string | null;
}

export interface ChatInput {
  platforms: readonly DockChatPlatform[];
}

export interface SystemInput {
  cpu_pct: number;
  mem_used_pct: number;
  gpu_pct: number | null;
  net_up_kbps: number | null;
  net_down_kbps: number | null;
}

export interface DockInputs {
  product?: string;
  version: string;
  /** The plain-language status line (built from the same snapshot as everything else). */
  status: DockStatus;
  obs: ObsInput;
  /** null: no output metrics producer (OBS not connected or metrics hub not running). */
  outputs: readonly OutputSampleInput[] | null;
  outputConfig: readonly OutputConfigInput[];
  engine: EngineSectionInput;
  /** null: no ingest source configured or no sample yet. */
  feed: FeedInput | null;
  history: DockHistory;
  ipc: 'ok' | 'degraded' | 'down' | 'not_used';
  relay?: RelayInput | null;
  chat?: ChatInput | null;
  system?: SystemInput | null;
  config?: DockConfigView | null;
}

export function buildDockState(inputs: DockInputs): DockState {
  const { obs, engine } = inputs;
  const obsUp = obs.connection === 'connected';
  const feedClass = inputs.feed?.classification ?? 'unknown';
  return {
    status: { ...inputs.status },
    header: {
      product: inputs.product ?? 'Telemy',
      version: inputs.version,
      mode: engine.mode,
      engine_state: engine.state,
      obs: { status: obs.connection, detail: obsUp ? null : obs.lastError },
      ipc: inputs.ipc,
    },
    live: {
      streaming: obsUp ? obs.streaming : null,
      recording: obsUp ? obs.recording : null,
      stream_elapsed_s: obsUp && obs.streaming ? seconds(obs.streamDurationMs) : null,
      record_elapsed_s: obsUp && obs.recording ? seconds(obs.recordDurationMs) : null,
    },
    scenes: {
      available: obsUp,
      list: [...obs.scenes],
      active: obs.currentScene,
      pending: engine.pendingSwitch ? { ...engine.pendingSwitch } : null,
      managed: managedScenes(engine.sceneRoles),
      roles: {
        live: engine.sceneRoles.live,
        low: engine.sceneRoles.low,
        brb: engine.sceneRoles.brb,
        offline: engine.sceneRoles.offline,
      },
      automation: { ...engine.automation },
      missing: engine.missing.map((m) => ({ ...m })),
    },
    feed: {
      classification: feedClass,
      reason: inputs.feed?.reason ?? null,
      source: inputs.feed?.source ?? null,
      bitrate_kbps: finite(inputs.feed?.bitrate_kbps),
      rtt_ms: finite(inputs.feed?.rtt_ms),
      loss_pct: finite(inputs.feed?.loss_pct),
      history: inputs.history,
      thresholds: { ...engine.thresholds },
    },
    links: projectLinks(inputs.relay),
    outputs: projectOutputs(obsUp ? inputs.outputs : null, inputs.outputConfig),
    relay: projectRelay(inputs.relay),
    failover: {
      health: feedHealth(feedClass),
      last: engine.lastFailover ? { ...engine.lastFailover } : null,
      count_session: engine.failoversThisSession,
      response_budget_ms: engine.responseBudgetMs,
      last_detection_to_switch_ms: finite(engine.lastDetectionToSwitchMs),
    },
    settings: { ...engine.flags },
    chat: inputs.chat
      ? { configured: true, platforms: inputs.chat.platforms.map((p) => ({ ...p })) }
      : { configured: false },
    system: inputs.system
      ? {
          available: true,
          cpu_pct: clampPct(inputs.system.cpu_pct),
          mem_used_pct: clampPct(inputs.system.mem_used_pct),
          gpu_pct: inputs.system.gpu_pct === null ? null : clampPct(inputs.system.gpu_pct),
          net_up_kbps: finite(inputs.system.net_up_kbps),
          net_down_kbps: finite(inputs.system.net_down_kbps),
        }
      : { available: false },
    events: engine.events.slice(-MAX_DOCK_EVENTS).map(toDockEvent),
    config: inputs.config ?? null,
  };
}

/**
 * Output health for the dock: an inactive output is offline; otherwise the worse of its dropped-frame
 * share and encoder lag decides. Lag is ms of video skipped per second: two 60 fps frames a second is
 * noticeable, a tenth of the video critical.
 */
export function outputStatus(o: OutputSampleInput): DockOutputStatus {
  if (!o.active) return 'offline';
  if (o.reconnecting) return 'critical';
  const drop = o.drop_pct ?? 0;
  const lag = o.encoding_lag_ms ?? 0;
  if (drop >= 5 || lag >= 100) return 'critical';
  if (drop >= 1 || lag >= 34) return 'degraded';
  return 'healthy';
}

/** 0–5 bars: 5 minus penalties for RTT and loss; a disconnected link or no data shows 0. */
export function linkSignal(l: Pick<RelayLinkInput, 'status' | 'rtt_ms' | 'loss_pct'>): number {
  if (l.status === 'disconnected' || (l.rtt_ms === null && l.loss_pct === null)) return 0;
  const rtt = l.rtt_ms ?? 0;
  const loss = l.loss_pct ?? 0;
  const rttPenalty = rtt >= 1200 ? 4 : rtt >= 600 ? 3 : rtt >= 300 ? 2 : rtt >= 150 ? 1 : 0;
  const lossPenalty = loss >= 10 ? 4 : loss >= 5 ? 2 : loss >= 1 ? 1 : 0;
  return Math.max(0, Math.min(5, 5 - rttPenalty - lossPenalty));
}

export const DEFAULT_OUTPUT_GROUP = 'Outputs';

/** The metrics hub's output rows as projection input. */
export function outputSamplesFromHub(outputs: readonly OutputSnapshot[]): OutputSampleInput[] {
  return outputs.map((o) => ({
    id: o.id,
    active: o.active,
    bitrate_kbps: o.bitrateKbps,
    fps: o.fps,
    drop_pct: o.dropRatio === null ? null : o.dropRatio * 100,
    encoding_lag_ms: o.encodingLagMs,
    reconnecting: o.reconnecting,
  }));
}

/** Host metrics as projection input; null (section "not measured") until CPU and memory have a value. */
export function systemInputFromSample(s: SystemSample | null): SystemInput | null {
  if (!s || s.cpuRatio === null || s.memoryRatio === null) return null;
  return {
    cpu_pct: s.cpuRatio * 100,
    mem_used_pct: s.memoryRatio * 100,
    gpu_pct: s.gpuRatio === null ? null : s.gpuRatio * 100,
    net_up_kbps: s.network ? (s.network.txBytesPerSec * 8) / 1000 : null,
    net_down_kbps: s.network ? (s.network.rxBytesPerSec * 8) / 1000 : null,
  };
}

function projectOutputs(
  samples: readonly OutputSampleInput[] | null,
  config: readonly OutputConfigInput[],
): DockState['outputs'] {
  if (!samples) return { available: false, groups: [], hidden: [] };
  const byId = new Map(config.map((c) => [c.obs_id, c]));
  const groupOrder = [
    ...new Set(config.filter((c) => !c.hidden).map((c) => c.encoder_group || DEFAULT_OUTPUT_GROUP)),
  ];
  const groups = new Map<string, DockOutputRow[]>();
  const hidden: DockOutputRow[] = [];
  for (const s of samples) {
    const cfg = byId.get(s.id);
    const row: DockOutputRow = {
      id: s.id,
      display_name: cfg?.display_name || s.id,
      group: cfg?.encoder_group || DEFAULT_OUTPUT_GROUP,
      active: s.active,
      bitrate_kbps: s.active ? finite(s.bitrate_kbps) : null,
      fps: s.active ? finite(s.fps) : null,
      drop_pct: finite(s.drop_pct),
      encoding_lag_ms: finite(s.encoding_lag_ms),
      status: outputStatus(s),
    };
    if (cfg?.hidden) {
      hidden.push(row);
      continue;
    }
    if (!groups.has(row.group)) groups.set(row.group, []);
    groups.get(row.group)!.push(row);
  }
  const names = [
    ...groupOrder.filter((g) => groups.has(g)),
    ...[...groups.keys()].filter((g) => !groupOrder.includes(g)),
  ];
  const out: DockOutputGroup[] = names.map((name) => {
    const rows = groups.get(name)!;
    return {
      name,
      outputs: rows,
      totals: {
        count: rows.length,
        active: rows.filter((r) => r.active).length,
        bitrate_kbps: rows.reduce((sum, r) => sum + (r.bitrate_kbps ?? 0), 0),
      },
    };
  });
  return { available: true, groups: out, hidden };
}

function projectLinks(relay: RelayInput | null | undefined): DockState['links'] {
  if (!relay) return { status: 'not_configured', rows: [] };
  if (relay.status === 'inactive') return { status: 'inactive', rows: [] };
  if (!relay.links) return { status: 'waiting', rows: [] };
  const rows: DockLinkRow[] = relay.links.map((l) => ({
    label: l.label,
    status: l.status === 'active' ? 'up' : l.status === 'degraded' ? 'degraded' : 'down',
    bitrate_kbps: finite(l.bitrate_kbps),
    rtt_ms: finite(l.rtt_ms),
    loss_pct: finite(l.loss_pct),
    jitter_ms: finite(l.jitter_ms),
    signal: linkSignal(l),
  }));
  return { status: 'ok', rows };
}

function projectRelay(relay: RelayInput | null | undefined): DockRelay {
  if (!relay) {
    return {
      status: 'not_configured',
      region: null,
      uptime_s: null,
      latency_ms: null,
      instance: null,
      grace_remaining_s: null,
      time_bank: null,
      pairing: { revealed: false, available: false },
      detail: null,
    };
  }
  const tb = relay.time_bank;
  const total = tb ? tb.left_s + tb.used_s : 0;
  return {
    status: relay.status,
    region: relay.region,
    uptime_s: wholeSeconds(relay.uptime_s),
    latency_ms: finite(relay.latency_ms),
    instance: relay.instance,
    grace_remaining_s: relay.status === 'grace' ? wholeSeconds(relay.grace_remaining_s) : null,
    time_bank: tb
      ? {
          left_s: Math.max(0, Math.floor(tb.left_s)),
          used_s: Math.max(0, Math.floor(tb.used_s)),
          used_pct: total > 0 ? clampPct(Math.round((tb.used_s / total) * 1000) / 10) : 0,
        }
      : null,
    pairing:
      relay.pairing && relay.pairingRevealed
        ? { revealed: true, available: true, ...relay.pairing }
        : { revealed: false, available: relay.pairing !== null },
    phone_address: relay.phone_address ?? null,
    detail: relay.detail,
  };
}

function feedHealth(c: FeedClass): DockState['failover']['health'] {
  return c === 'normal' ? 'good' : c === 'low' ? 'degraded' : c;
}

function toDockEvent(e: EventInput): DockEvent {
  return {
    id: e.id,
    at_ms: e.at_ms,
    level: e.level,
    text: e.text,
    request_id: e.request_id ?? null,
    acked: e.acked ?? false,
  };
}

function seconds(ms: number | null): number {
  return ms !== null && Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
}

function wholeSeconds(s: number | null): number | null {
  return s !== null && Number.isFinite(s) ? Math.max(0, Math.floor(s)) : null;
}

function finite(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function clampPct(v: number): number {
  return Number.isFinite(v) ? Math.max(0, Math.min(100, v)) : 0;
}

/**
 * The pairing QR code for `RelayInput.pairing.qr_svg`: computed once when a session's pairing URL is
 * known (not per push). qrcode's SVG holds only rects and paths, which the dock inlines as is.
 */
export function pairingQrSvg(srtUrl: string): Promise<string> {
  return QRCode.toString(srtUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
}
