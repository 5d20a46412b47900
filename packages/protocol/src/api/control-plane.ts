import { z } from 'zod';
import { PgInt4, PgText, PgTimestamp } from './pg-values.js';

export * from './pg-values.js';

/**
 * Request and response bodies of the control plane API v1. The
 * server validates with these and generates its OpenAPI document from them; CloudLink parses
 * responses with them. Objects are not strict: unknown fields are ignored (v1 only ever adds fields).
 * Every request string, integer and time that reaches the database is a `PgText`, `PgInt4` or
 * `PgTimestamp` (`pg-values.ts`), so that what PostgreSQL would refuse is a 400 naming the field,
 * not a 500.
 */

export const SESSION_STATUSES = ['provisioning', 'active', 'grace', 'stopped'] as const;
export const SessionStatus = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof SessionStatus>;

export const STOP_REASONS = ['user_requested', 'shutdown', 'admin_forced', 'error_recovery'] as const;
export const StopReason = z.enum(STOP_REASONS);
export type StopReason = z.infer<typeof StopReason>;

export const PLAN_TIERS = ['starter', 'standard', 'pro'] as const;
export const PlanTier = z.enum(PLAN_TIERS);
export type PlanTier = z.infer<typeof PlanTier>;

export const PLAN_STATUSES = ['active', 'past_due', 'canceled', 'trial'] as const;
export const PlanStatus = z.enum(PLAN_STATUSES);
export type PlanStatus = z.infer<typeof PlanStatus>;

export const ClientPlatform = z.enum(['windows', 'macos', 'linux']);
export type ClientPlatform = z.infer<typeof ClientPlatform>;

const RegionName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'region names are lower-case letters, digits and dashes');

export const AuthTokenRequest = z.object({ api_key: PgText.min(1).max(200) });
export type AuthTokenRequest = z.infer<typeof AuthTokenRequest>;

export const AuthTokenResponse = z.object({ cp_access_jwt: z.string(), expires_at: z.iso.datetime() });
export type AuthTokenResponse = z.infer<typeof AuthTokenResponse>;

export const RelayStartRequest = z.object({
  region_preference: z.union([z.literal('auto'), RegionName]),
  client_context: z.object({
    obs_connected: z.boolean(),
    mode: z.enum(['studio', 'irl']),
    requested_by: z.enum(['dashboard', 'chatbridge', 'cli']),
  }),
});
export type RelayStartRequest = z.infer<typeof RelayStartRequest>;

export const RelayStopRequest = z.object({
  session_id: PgText.min(1).max(100),
  reason: StopReason,
});
export type RelayStopRequest = z.infer<typeof RelayStopRequest>;

export const RelayStopResponse = z.object({
  session_id: z.string(),
  status: z.literal('stopped'),
  stopped_at: z.iso.datetime(),
});
export type RelayStopResponse = z.infer<typeof RelayStopResponse>;

export const LinkStatus = z.enum(['active', 'degraded', 'disconnected']);
export const BondedHealth = z.enum(['healthy', 'degraded', 'critical']);

export const RelayLink = z.object({
  link_id: PgText.max(100),
  label: PgText.max(200),
  source_ip: PgText.max(64).nullable(),
  /** `srtla`: one connection of a bonded sender's group, all of which feed one SRT stream. */
  protocol: z.enum(['srt', 'srtla']),
  status: LinkStatus,
  bitrate_kbps: z.number().nonnegative(),
  rtt_ms: z.number().nonnegative().nullable(),
  packet_loss_pct: z.number().min(0).max(100).nullable(),
  jitter_ms: z.number().nonnegative().nullable(),
  connected_at: z.iso.datetime().nullable(),
  /** SRTLA connections only: what the receiver sees of this link. */
  srtla: z
    .object({
      /** This link's part of the group's data packets over the last few seconds. */
      share_pct: z.number().min(0).max(100),
      /** SRT NAKs the listener sent back over this link (a lost packet never arrives anywhere). */
      naks: z.number().int().nonnegative(),
      /** Retransmitted data packets that arrived on this link. */
      retransmits: z.number().int().nonnegative(),
      last_packet_at: z.iso.datetime(),
    })
    .optional(),
});
export type RelayLink = z.infer<typeof RelayLink>;

export const RelayBonded = z.object({
  total_bitrate_kbps: z.number().nonnegative(),
  active_link_count: z.number().int().nonnegative(),
  health: BondedHealth,
});
export type RelayBonded = z.infer<typeof RelayBonded>;

export const RelayHealthReport = z.object({
  session_id: PgText.min(1).max(100),
  instance_id: PgText.min(1).max(200),
  ingest_active: z.boolean(),
  egress_active: z.boolean(),
  /** An `integer` column (`relay_health_events.session_uptime_seconds`). */
  session_uptime_seconds: PgInt4.nonnegative(),
  /** A `timestamptz` column (`relay_health_events.observed_at`). */
  observed_at: PgTimestamp,
  links: z.array(RelayLink).max(16),
  bonded: RelayBonded,
});
export type RelayHealthReport = z.infer<typeof RelayHealthReport>;

export const RelaySession = z.object({
  session_id: z.string(),
  user_id: z.string(),
  status: SessionStatus,
  region: z.string(),
  relay: z.object({
    instance_id: z.string().nullable(),
    public_ip: z.string().nullable(),
    srt_port: z.number().int().nullable(),
    egress_port: z.number().int().nullable(),
    /** The SRTLA port for bonding senders: null when the relay runs none, absent from older servers. */
    srtla_port: z.number().int().nullable().optional(),
    ws_url: z.string().nullable(),
  }),
  credentials: z.object({ pair_token: z.string(), relay_ws_token: z.string() }),
  ingest: z.object({
    srt_url: z.string().nullable(),
    /** What a bonding sender (BELABOX, Moblin, IRL Pro) pastes; null and absent as `srtla_port`. */
    srtla_url: z.string().nullable().optional(),
    obs_source_url: z.string().nullable(),
  }),
  timers: z.object({
    grace_window_seconds: z.number().int(),
    max_session_seconds: z.number().int(),
    grace_remaining_seconds: z.number().int().nullable(),
    max_session_remaining_seconds: z.number().int(),
  }),
  usage: z.object({
    started_at: z.iso.datetime(),
    ended_at: z.iso.datetime().nullable(),
    duration_seconds: z.number().int(),
  }),
  links: z.array(RelayLink),
  bonded: RelayBonded.nullable(),
});
export type RelaySession = z.infer<typeof RelaySession>;

export const RelayManifestResponse = z.object({
  regions: z.array(
    z.object({
      region: z.string(),
      ami_id: z.string(),
      default_instance_type: z.string(),
      updated_at: z.iso.datetime(),
    }),
  ),
});
export type RelayManifestResponse = z.infer<typeof RelayManifestResponse>;

export const UsageCurrentResponse = z.object({
  plan_tier: PlanTier,
  plan_status: PlanStatus,
  cycle_start: z.iso.datetime(),
  cycle_end: z.iso.datetime(),
  included_seconds: z.number().int(),
  consumed_seconds: z.number().int(),
  remaining_seconds: z.number().int(),
  overage_seconds: z.number().int(),
});
export type UsageCurrentResponse = z.infer<typeof UsageCurrentResponse>;

export const API_ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'request_timeout',
  'conflict',
  'invalid_transition',
  'idempotency_mismatch',
  'payload_too_large',
  'headers_too_large',
  'rate_limited',
  'internal_error',
  'unavailable',
] as const;
export const ApiErrorCode = z.enum(API_ERROR_CODES);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

export const ApiErrorBody = z.object({
  error: z.object({
    code: ApiErrorCode,
    message: z.string(),
    request_id: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
