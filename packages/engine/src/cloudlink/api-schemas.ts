import { z } from 'zod';

/**
 * The control-plane response bodies CloudLink reads (`30-control-plane-api.md`). Parsed leniently:
 * unknown fields are dropped (the API only ever adds fields in v1) and relay fields may be null or
 * absent until the relay is known.
 */
const nullableString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const nullableNumber = z
  .number()
  .nullish()
  .transform((v) => v ?? null);

export const SessionStatusSchema = z.enum(['provisioning', 'active', 'grace', 'stopped']);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

export const RelayLinkSchema = z.object({
  link_id: z.string(),
  label: nullableString,
  source_ip: nullableString,
  status: z.string(),
  bitrate_kbps: nullableNumber,
  rtt_ms: nullableNumber,
  packet_loss_pct: nullableNumber,
  jitter_ms: nullableNumber,
  connected_at: nullableString,
});
export type RelayLink = z.infer<typeof RelayLinkSchema>;

export const BondedSchema = z.object({
  total_bitrate_kbps: nullableNumber,
  active_link_count: nullableNumber,
  health: nullableString,
});
export type Bonded = z.infer<typeof BondedSchema>;

const RelayInfoSchema = z.object({
  instance_id: nullableString,
  public_ip: nullableString,
  srt_port: nullableNumber,
  egress_port: nullableNumber,
  ws_url: nullableString,
});

export const SessionSchema = z.object({
  session_id: z.string().min(1),
  status: SessionStatusSchema,
  region: nullableString,
  relay: RelayInfoSchema.nullish().transform((v) => v ?? null),
  credentials: z
    .object({ pair_token: nullableString, relay_ws_token: nullableString })
    .nullish()
    .transform((v) => v ?? null),
  ingest: z
    .object({ srt_url: nullableString, obs_source_url: nullableString })
    .nullish()
    .transform((v) => v ?? null),
  timers: z
    .object({
      grace_window_seconds: nullableNumber,
      max_session_seconds: nullableNumber,
      grace_remaining_seconds: nullableNumber,
      max_session_remaining_seconds: nullableNumber,
    })
    .nullish()
    .transform((v) => v ?? null),
  usage: z
    .object({ started_at: nullableString, ended_at: nullableString, duration_seconds: nullableNumber })
    .nullish()
    .transform((v) => v ?? null),
  links: z
    .array(RelayLinkSchema)
    .nullish()
    .transform((v) => v ?? []),
  bonded: BondedSchema.nullish().transform((v) => v ?? null),
});
export type Session = z.infer<typeof SessionSchema>;

export const TokenResponseSchema = z.object({
  cp_access_jwt: z.string().min(1),
  expires_at: z.string().min(1),
});

export const StopResponseSchema = z.object({
  session_id: z.string(),
  status: z.literal('stopped'),
  stopped_at: nullableString,
});
export type StopResult = z.infer<typeof StopResponseSchema>;

export const UsageSchema = z.object({
  plan_tier: z.string(),
  plan_status: z.string(),
  cycle_start: nullableString,
  cycle_end: nullableString,
  included_seconds: z.number(),
  consumed_seconds: z.number(),
  remaining_seconds: z.number(),
  overage_seconds: z.number(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const ErrorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    request_id: z.string().nullish(),
    details: z.unknown().optional(),
  }),
});

export type StopReason = 'user_requested' | 'shutdown' | 'admin_forced' | 'error_recovery';
export type RequestedBy = 'dashboard' | 'chatbridge' | 'cli';
export type ClientPlatform = 'windows' | 'macos' | 'linux';

/** True when the relay is known well enough for the engine to connect telemetry. */
export function relayReady(s: Session): boolean {
  return s.relay?.ws_url != null && s.credentials?.relay_ws_token != null;
}
