import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AUTOMATION_FLAGS, SWITCH_ERROR_CODES } from '../automation.js';
import { MODES } from '../engine-modes.js';

/** IPC v1 message contract: envelope plus one payload schema per message type. */

export const IPC_PROTOCOL_VERSION = 1;

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export const prioritySchema = z.enum(PRIORITIES);
export type Priority = z.infer<typeof prioritySchema>;

export const PROTOCOL_ERROR_CODES = [
  'frame_too_large',
  'decode_failed',
  'unknown_type',
  'timeout',
  'version_mismatch',
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export const SETTING_KEYS = AUTOMATION_FLAGS;
export type SettingKey = (typeof SETTING_KEYS)[number];

export const SWITCH_REASONS = ['auto_failover', 'auto_recover', 'chat_command', 'manual'] as const;
export type SwitchReason = (typeof SWITCH_REASONS)[number];

/** Default `switch_scene.deadline_ms`. */
export const DEFAULT_SWITCH_DEADLINE_MS = 550;

const nullableNumber = z.number().nullable();

// Shim → engine payloads.
export const helloPayloadSchema = z.object({
  plugin_version: z.string(),
  protocol_version: z.number().int(),
  obs_pid: z.number().int().nullable(),
  capabilities: z.array(z.string()),
});
export const pingPayloadSchema = z.object({ nonce: z.union([z.string(), z.number()]) });
export const requestStatusPayloadSchema = z.object({});
export const sceneSwitchResultPayloadSchema = z.object({
  request_id: z.string(),
  ok: z.boolean(),
  error: z.string().nullable(),
  /** Why it failed, as a code both switch paths share; absent from senders that predate it. */
  error_code: z.enum(SWITCH_ERROR_CODES).nullable().optional(),
});
export const obsShutdownNoticePayloadSchema = z.object({ reason: z.enum(['obs_module_unload', 'obs_exit']) });
export const setModeRequestPayloadSchema = z.object({ mode: z.enum(['studio', 'irl']) });
export const setSettingRequestPayloadSchema = z.object({ key: z.enum(SETTING_KEYS), value: z.boolean() });
export const sceneListPayloadSchema = z.object({
  scenes: z.array(z.string()),
  current: z.string().nullable(),
});

// Engine → shim payloads.
export const helloAckPayloadSchema = z.object({
  core_version: z.string(),
  protocol_version: z.number().int(),
  capabilities: z.array(z.string()),
});
export const pongPayloadSchema = pingPayloadSchema;
export const statusSnapshotPayloadSchema = z.object({
  mode: z.enum(['studio', 'irl']),
  engine_state: z.enum(MODES),
  health: z.enum(['good', 'degraded', 'offline']),
  bitrate_kbps: nullableNumber,
  rtt_ms: nullableNumber,
  override_enabled: z.boolean(),
  flags: z.object({
    auto_scene_switch: z.boolean(),
    low_quality_fallback: z.boolean(),
    manual_override: z.boolean(),
    chat_bot: z.boolean(),
    alerts: z.boolean(),
  }),
  // Thresholds are open-ended: every value a number, the two named ones required.
  thresholds: z
    .object({ low_bitrate_kbps: z.number(), offline_bitrate_kbps: z.number() })
    .catchall(z.number()),
  relay: z.object({
    status: z.enum(['inactive', 'provisioning', 'active', 'grace']),
    region: z.string().nullable(),
    grace_remaining_seconds: nullableNumber,
    uptime_seconds: nullableNumber,
    time_bank_seconds_remaining: nullableNumber,
  }),
  scene: z.object({
    active: z.string().nullable(),
    pending_request_id: z.string().nullable(),
    pending_scene: z.string().nullable(),
  }),
  outputs: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      active: z.boolean(),
      bitrate_kbps: nullableNumber,
      fps: nullableNumber,
      drop_ratio: nullableNumber,
      encoding_lag_ms: nullableNumber,
      status: z.enum(['healthy', 'degraded', 'critical', 'offline']),
    }),
  ),
});
export const switchScenePayloadSchema = z.object({
  request_id: z.string(),
  scene_name: z.string(),
  reason: z.enum(SWITCH_REASONS),
  deadline_ms: z.number().int().positive().default(DEFAULT_SWITCH_DEADLINE_MS),
});
export const userNoticePayloadSchema = z.object({
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
});
export const shutdownRequestPayloadSchema = z.object({
  reason: z.enum(['fatal_error', 'manual_exit', 'update_restart']),
});
export const protocolErrorPayloadSchema = z.object({
  code: z.enum(PROTOCOL_ERROR_CODES),
  message: z.string(),
  related_message_id: z.string().nullable(),
});

/** Every message type with its payload schema and the priority it travels with by default. */
export const MESSAGE_DEFINITIONS = {
  hello: { payload: helloPayloadSchema, priority: 'high' },
  ping: { payload: pingPayloadSchema, priority: 'high' },
  request_status: { payload: requestStatusPayloadSchema, priority: 'high' },
  scene_switch_result: { payload: sceneSwitchResultPayloadSchema, priority: 'critical' },
  obs_shutdown_notice: { payload: obsShutdownNoticePayloadSchema, priority: 'critical' },
  set_mode_request: { payload: setModeRequestPayloadSchema, priority: 'normal' },
  set_setting_request: { payload: setSettingRequestPayloadSchema, priority: 'normal' },
  scene_list: { payload: sceneListPayloadSchema, priority: 'normal' },
  hello_ack: { payload: helloAckPayloadSchema, priority: 'high' },
  pong: { payload: pongPayloadSchema, priority: 'high' },
  status_snapshot: { payload: statusSnapshotPayloadSchema, priority: 'normal' },
  switch_scene: { payload: switchScenePayloadSchema, priority: 'critical' },
  user_notice: { payload: userNoticePayloadSchema, priority: 'high' },
  shutdown_request: { payload: shutdownRequestPayloadSchema, priority: 'critical' },
  protocol_error: { payload: protocolErrorPayloadSchema, priority: 'high' },
} as const satisfies Record<string, { payload: z.ZodType; priority: Priority }>;

type Definitions = typeof MESSAGE_DEFINITIONS;
export type MessageType = keyof Definitions;
export const MESSAGE_TYPES = Object.keys(MESSAGE_DEFINITIONS) as MessageType[];

export type PayloadOf<T extends MessageType> = z.output<Definitions[T]['payload']>;
export type PayloadInput<T extends MessageType> = z.input<Definitions[T]['payload']>;

export type HelloPayload = PayloadOf<'hello'>;
export type HelloAckPayload = PayloadOf<'hello_ack'>;
export type StatusSnapshotPayload = PayloadOf<'status_snapshot'>;
export type SwitchScenePayload = PayloadOf<'switch_scene'>;
export type SceneSwitchResultPayload = PayloadOf<'scene_switch_result'>;
export type SceneListPayload = PayloadOf<'scene_list'>;
export type ProtocolErrorPayload = PayloadOf<'protocol_error'>;

const envelopeFields = {
  v: z.literal(IPC_PROTOCOL_VERSION),
  id: z.string().min(1).max(128),
  ts_unix_ms: z.number().int().nonnegative(),
  priority: prioritySchema,
};

function envelopeOf<T extends MessageType>(type: T) {
  return z.object({ ...envelopeFields, type: z.literal(type), payload: MESSAGE_DEFINITIONS[type].payload });
}

const envelopes = MESSAGE_TYPES.map((t) => envelopeOf(t));
export const ipcMessageSchema = z.discriminatedUnion(
  'type',
  envelopes as unknown as [ReturnType<typeof envelopeOf<'hello'>>, ...ReturnType<typeof envelopeOf>[]],
);

export type IpcMessageOf<T extends MessageType> = {
  v: 1;
  id: string;
  ts_unix_ms: number;
  type: T;
  priority: Priority;
  payload: PayloadOf<T>;
};
export type IpcMessage = { [T in MessageType]: IpcMessageOf<T> }[MessageType];

export function isMessageType(t: unknown): t is MessageType {
  return typeof t === 'string' && Object.hasOwn(MESSAGE_DEFINITIONS, t);
}

/** Builds a valid message (fresh uuid v4, current time); the payload is validated so bad input fails here. */
export function makeMessage<T extends MessageType>(
  type: T,
  payload: PayloadInput<T>,
  priority: Priority = MESSAGE_DEFINITIONS[type].priority,
  now: () => number = Date.now,
): IpcMessageOf<T> {
  const parsed = MESSAGE_DEFINITIONS[type].payload.parse(payload) as PayloadOf<T>;
  return { v: IPC_PROTOCOL_VERSION, id: randomUUID(), ts_unix_ms: now(), type, priority, payload: parsed };
}

export type MessageDecodeResult =
  | { ok: true; message: IpcMessage }
  | { ok: false; error: ProtocolErrorCode; detail: string; relatedMessageId: string | null };

/** Validates an already-unpacked value as an IPC message. Never throws. */
export function decodeMessage(raw: unknown): MessageDecodeResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: 'decode_failed', detail: 'message is not a map', relatedMessageId: null };
  }
  const obj = raw as Record<string, unknown>;
  const relatedMessageId = typeof obj.id === 'string' ? obj.id.slice(0, 128) : null;
  if (obj.v !== IPC_PROTOCOL_VERSION) {
    if (typeof obj.v === 'number') {
      return {
        ok: false,
        error: 'version_mismatch',
        detail: `protocol version ${obj.v} is not supported (this side speaks ${IPC_PROTOCOL_VERSION})`,
        relatedMessageId,
      };
    }
    return { ok: false, error: 'decode_failed', detail: 'missing protocol version "v"', relatedMessageId };
  }
  if (typeof obj.type !== 'string') {
    return { ok: false, error: 'decode_failed', detail: 'missing message type', relatedMessageId };
  }
  if (!isMessageType(obj.type)) {
    return {
      ok: false,
      error: 'unknown_type',
      detail: `unknown message type "${obj.type.slice(0, 64)}"`,
      relatedMessageId,
    };
  }
  const parsed = ipcMessageSchema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    return {
      ok: false,
      error: 'decode_failed',
      detail: `invalid ${obj.type}: ${where}: ${issue?.message ?? 'invalid'}`,
      relatedMessageId,
    };
  }
  return { ok: true, message: parsed.data as IpcMessage };
}
