import { z } from 'zod';
import { AUTOMATION_FLAGS, AUTOMATION_STATES, SCENE_ROLES } from '../automation.js';
import { FEED_CLASSES, MODES } from '../engine-modes.js';

/**
 * DockState: the one object the engine pushes to every dock and
 * dashboard. The UI renders it and decides nothing. A section whose producer is absent says so
 * (`not_configured`, `available: false`, null values) instead of showing made-up numbers. Secrets
 * never appear here; pairing details only after an explicit reveal.
 */

export const DOCK_AUTOMATION_FLAGS = AUTOMATION_FLAGS;
export const DOCK_OUTPUT_STATUSES = ['healthy', 'degraded', 'critical', 'offline'] as const;
export const DOCK_RELAY_STATUSES = [
  'not_configured',
  'inactive',
  'provisioning',
  'active',
  'grace',
  'stopping',
] as const;
export const DOCK_CHAT_PLATFORMS = ['twitch', 'kick', 'youtube'] as const;

const count = z.number().int().min(0);
const num = z.number().finite();
const nullableNum = num.nullable();
const text = z.string().max(2000);

export const dockModeSchema = z.enum(['studio', 'irl']);
export const dockAutomationFlagSchema = z.enum(DOCK_AUTOMATION_FLAGS);

const headerSchema = z.object({
  product: z.string(),
  version: z.string(),
  mode: dockModeSchema,
  engine_state: z.enum(MODES),
  obs: z.object({
    status: z.enum(['connected', 'connecting', 'disconnected', 'auth_failed']),
    /** One human line about the last connection problem; null while connected. */
    detail: text.nullable(),
  }),
  /** `not_used` when the engine runs without a shim and switches scenes itself. */
  ipc: z.enum(['ok', 'degraded', 'down', 'not_used']),
});

const liveSchema = z.object({
  /** null: not known (OBS not connected). */
  streaming: z.boolean().nullable(),
  recording: z.boolean().nullable(),
  stream_elapsed_s: count.nullable(),
  record_elapsed_s: count.nullable(),
});

const sceneRolesSchema = z.object({
  live: z.string(),
  /** Empty: no LOW scene, LOW behaves as HOLD. */
  low: z.string(),
  brb: z.string(),
  offline: z.string(),
});

const scenesSchema = z.object({
  /** false while OBS is not connected: the list below is the last one seen (or empty). */
  available: z.boolean(),
  list: z.array(z.string()),
  /** OBS's program scene; it is on air only while `live.streaming`. */
  active: z.string().nullable(),
  pending: z.object({ request_id: z.string(), scene: z.string() }).nullable(),
  managed: z.array(z.string()),
  roles: sceneRolesSchema,
  /**
   * How automation stands: `armed` (it would switch now), `waiting` (for the stream to start),
   * `paused` (the streamer's choice: override, switching off, a scene of theirs on air) or
   * `blocked` (something is wrong: OBS gone, a role scene missing). `text` says why in plain words.
   */
  automation: z.object({ state: z.enum(AUTOMATION_STATES), text: text }),
  /** Role scenes OBS does not have; `stand_in` is the scene that would go on air instead, if any. */
  missing: z.array(
    z.object({ role: z.enum(SCENE_ROLES), scene: z.string(), stand_in: z.string().nullable() }),
  ),
});

/** One plain-language line on top of the dock: what is on air, why, and what happens next. */
const statusSchema = z.object({
  level: z.enum(['ok', 'info', 'warn', 'bad']),
  text: text,
  /** Since when the situation the line describes holds (epoch ms), when known. */
  since_ms: num.nullable(),
});

const thresholdsSchema = z.object({
  low_bitrate_kbps: count,
  offline_bitrate_kbps: count,
  low_rtt_ms: count,
  offline_rtt_ms: count,
});

const historySchema = z.object({
  window_ms: count,
  /** Sample times (epoch ms), oldest first; the value arrays are parallel to it. */
  t: z.array(num),
  bitrate_kbps: z.array(nullableNum),
  rtt_ms: z.array(nullableNum),
});

const feedSchema = z.object({
  /** The feed automation acts on (in IRL the worse of the local sources and the relay). */
  classification: z.enum(FEED_CLASSES),
  /** Why the feed has this class, in a few words (e.g. "bitrate 120 kb/s ≤ 200"). */
  reason: text.nullable(),
  /** The source that decided it: a configured source's name, or `relay`. */
  source: z.string().nullable(),
  bitrate_kbps: nullableNum,
  rtt_ms: nullableNum,
  loss_pct: nullableNum,
  history: historySchema,
  thresholds: thresholdsSchema,
});

const linkRowSchema = z.object({
  label: z.string(),
  status: z.enum(['up', 'degraded', 'down']),
  bitrate_kbps: nullableNum,
  rtt_ms: nullableNum,
  loss_pct: nullableNum,
  jitter_ms: nullableNum,
  /** 0 (no signal) to 5 bars, from RTT and loss. */
  signal: z.number().int().min(0).max(5),
});

const linksSchema = z.object({
  /** `inactive`: no relay session runs; `waiting`: a session runs, its telemetry has not arrived. */
  status: z.enum(['not_configured', 'inactive', 'waiting', 'ok']),
  rows: z.array(linkRowSchema),
});

const outputRowSchema = z.object({
  id: z.string(),
  display_name: z.string(),
  group: z.string(),
  active: z.boolean(),
  bitrate_kbps: nullableNum,
  fps: nullableNum,
  drop_pct: nullableNum,
  encoding_lag_ms: nullableNum,
  status: z.enum(DOCK_OUTPUT_STATUSES),
});

const outputGroupSchema = z.object({
  name: z.string(),
  outputs: z.array(outputRowSchema),
  totals: z.object({ count, active: count, bitrate_kbps: num }),
});

const outputsSchema = z.object({
  available: z.boolean(),
  groups: z.array(outputGroupSchema),
  hidden: z.array(outputRowSchema),
});

const pairingSchema = z.discriminatedUnion('revealed', [
  z.object({ revealed: z.literal(false), available: z.boolean() }),
  z.object({
    revealed: z.literal(true),
    available: z.literal(true),
    srt_url: z.string(),
    /** For bonding senders; null when the relay runs no SRTLA receiver. */
    srtla_url: z.string().nullable(),
    qr_svg: z.string(),
    obs_source_url: z.string(),
  }),
]);

const relaySchema = z.object({
  status: z.enum(DOCK_RELAY_STATUSES),
  region: z.string().nullable(),
  uptime_s: count.nullable(),
  latency_ms: nullableNum,
  instance: z.string().nullable(),
  grace_remaining_s: count.nullable(),
  time_bank: z.object({ left_s: count, used_s: count, used_pct: z.number().min(0).max(100) }).nullable(),
  pairing: pairingSchema,
  /** The relay address the phone is given (not a secret), and why it is that one. */
  phone_address: z.object({ host: z.string(), reason: text }).nullable().optional(),
  /** Why the last start was refused or the relay stopped, when the engine knows. */
  detail: text.nullable(),
});

const failoverSchema = z.object({
  health: z.enum(['good', 'degraded', 'offline', 'unknown']),
  /** The last automatic switch, failover or recovery (`rule` says which). */
  last: z
    .object({
      at_ms: num,
      scene: z.string(),
      reason: text,
      rule: z.string(),
      request_id: z.string(),
    })
    .nullable(),
  /** Automatic failovers (towards BRB, LOW or OFFLINE) this session; recoveries are not counted. */
  count_session: count,
  response_budget_ms: count,
  last_detection_to_switch_ms: nullableNum,
});

const settingsTogglesSchema = z.object(
  Object.fromEntries(DOCK_AUTOMATION_FLAGS.map((f) => [f, z.boolean()])) as Record<
    (typeof DOCK_AUTOMATION_FLAGS)[number],
    z.ZodBoolean
  >,
);

const chatPlatformRowSchema = z.object({
  platform: z.enum(DOCK_CHAT_PLATFORMS),
  status: z.enum(['connected', 'connecting', 'disconnected', 'error']),
  channel: z.string(),
  read_only: z.boolean(),
  quota_left: count.nullable(),
  /** YouTube while reading chat: the steady poll pace and when the quota left runs out at it. */
  quota_pace: z
    .object({
      poll_interval_ms: count,
      /** Null when the quota lasts until the daily reset. */
      lasts_until_ms: nullableNum,
      resets_at_ms: num,
    })
    .nullable(),
  detail: text.nullable(),
  /**
   * The credentials in use: signed in (refreshed by the engine), a pasted token (never refreshed),
   * none, or a sign-in the platform revoked (the dock asks to sign in again). Never a token.
   */
  auth: z.enum(['none', 'pasted', 'oauth', 'revoked']),
  /** The signed-in account, when known. */
  account: z.string().nullable(),
});

const chatSchema = z.discriminatedUnion('configured', [
  z.object({ configured: z.literal(false) }),
  z.object({ configured: z.literal(true), platforms: z.array(chatPlatformRowSchema) }),
]);

const systemSchema = z.discriminatedUnion('available', [
  z.object({ available: z.literal(false) }),
  z.object({
    available: z.literal(true),
    cpu_pct: z.number().min(0).max(100),
    mem_used_pct: z.number().min(0).max(100),
    gpu_pct: z.number().min(0).max(100).nullable(),
    net_up_kbps: nullableNum,
    net_down_kbps: nullableNum,
  }),
]);

const dockEventLevelSchema = z.enum(['info', 'warn', 'error']);
const dockEventSchema = z.object({
  id: count,
  at_ms: num,
  level: dockEventLevelSchema,
  text: text,
  request_id: z.string().nullable(),
  acked: z.boolean(),
});

export const MAX_DOCK_EVENTS = 200;

/** The editable configuration the settings page starts from; secrets only as "is set" flags. */
export const dockConfigViewSchema = z.object({
  obs: z.object({ host: z.string(), port: count, password_set: z.boolean() }),
  cloud: z.object({
    mode: z.enum(['embedded', 'remote', 'off']),
    base_url: z.string(),
    region_preference: z.string(),
    api_key_set: z.boolean(),
  }),
  otlp: z.object({ enabled: z.boolean(), endpoint: z.string(), interval_ms: count, auth_set: z.boolean() }),
  timings: z.object({
    sample_interval_ms: count,
    offline_after_ms: count,
    low_after_ms: count,
    recover_after_ms: count,
    offline_timeout_s: count,
    offline_hold_s: count,
    switch_deadline_ms: count,
  }),
  managed_extra: z.array(z.string()),
  chat: z.object(
    Object.fromEntries(
      DOCK_CHAT_PLATFORMS.map((p) => [p, z.object({ channel: z.string(), token_set: z.boolean() })]),
    ) as Record<DockChatPlatformName, z.ZodObject<{ channel: z.ZodString; token_set: z.ZodBoolean }>>,
  ),
  sources: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      priority: count,
      enabled: z.boolean(),
      url: z.string().optional(),
      stats_file: z.string().optional(),
      input: z.string().optional(),
    }),
  ),
  outputs: z.array(
    z.object({
      obs_id: z.string(),
      display_name: z.string(),
      encoder_group: z.string(),
      hidden: z.boolean(),
    }),
  ),
});

export const dockStateSchema = z.object({
  status: statusSchema,
  header: headerSchema,
  live: liveSchema,
  scenes: scenesSchema,
  feed: feedSchema,
  links: linksSchema,
  outputs: outputsSchema,
  relay: relaySchema,
  failover: failoverSchema,
  settings: settingsTogglesSchema,
  chat: chatSchema,
  system: systemSchema,
  events: z.array(dockEventSchema).max(MAX_DOCK_EVENTS),
  /** null until the engine has loaded its config. */
  config: dockConfigViewSchema.nullable(),
});

export type DockState = z.infer<typeof dockStateSchema>;
export type DockStatus = DockState['status'];
export type DockHeader = DockState['header'];
export type DockLive = DockState['live'];
export type DockScenes = DockState['scenes'];
export type DockFeed = DockState['feed'];
export type DockThresholds = DockFeed['thresholds'];
export type DockHistory = DockFeed['history'];
export type DockLinks = DockState['links'];
export type DockLinkRow = DockLinks['rows'][number];
export type DockOutputs = DockState['outputs'];
export type DockOutputRow = z.infer<typeof outputRowSchema>;
export type DockOutputGroup = z.infer<typeof outputGroupSchema>;
export type DockRelay = DockState['relay'];
export type DockPairing = DockRelay['pairing'];
export type DockFailover = DockState['failover'];
export type DockSettingsToggles = DockState['settings'];
export type DockChat = DockState['chat'];
export type DockChatPlatform = z.infer<typeof chatPlatformRowSchema>;
export type DockSystem = DockState['system'];
export type DockEvent = DockState['events'][number];
export type DockConfigView = z.infer<typeof dockConfigViewSchema>;
export type DockAutomationFlag = (typeof DOCK_AUTOMATION_FLAGS)[number];
export type DockOutputStatus = (typeof DOCK_OUTPUT_STATUSES)[number];
export type DockRelayStatus = (typeof DOCK_RELAY_STATUSES)[number];
export type DockChatPlatformName = (typeof DOCK_CHAT_PLATFORMS)[number];
