import { z } from 'zod';
import { RelayBonded, RelayLink } from '../api/control-plane.js';

/**
 * Messages the relay agent sends on its telemetry WebSocket, one JSON object per
 * frame, discriminated by `type`. Link rows and the bonded summary are the same shapes as in the
 * health report (`POST /relay/health`), so one producer serves both. `at` is an ISO-8601 instant.
 */
export const RelayHelloMessage = z.object({
  type: z.literal('hello'),
  session_id: z.string(),
  uptime_s: z.number().nonnegative(),
});
export type RelayHelloMessage = z.infer<typeof RelayHelloMessage>;

export const RelayStatsMessage = z.object({
  type: z.literal('stats'),
  links: z.array(RelayLink),
  bonded: RelayBonded,
  ingest_active: z.boolean(),
  egress_clients: z.number().int().nonnegative(),
  /** The link whose packets reach the egress right now (null before the first packet). */
  forwarded_link_id: z.string().nullable(),
});
export type RelayStatsMessage = z.infer<typeof RelayStatsMessage>;

/**
 * The feed that reaches the egress: `stalled` when the forwarded link went quiet for
 * `stall_after_ms` and no other link could take over; `resumed` when packets flow again.
 */
export const RelayIngestMessage = z.object({
  type: z.literal('ingest'),
  state: z.enum(['stalled', 'resumed']),
  link_id: z.string(),
  at: z.iso.datetime(),
});
export type RelayIngestMessage = z.infer<typeof RelayIngestMessage>;

export const RelayLinkFailoverMessage = z.object({
  type: z.literal('link_failover'),
  from: z.string(),
  to: z.string(),
  at: z.iso.datetime(),
});
export type RelayLinkFailoverMessage = z.infer<typeof RelayLinkFailoverMessage>;

export const RelayTelemetryMessage = z.discriminatedUnion('type', [
  RelayHelloMessage,
  RelayStatsMessage,
  RelayIngestMessage,
  RelayLinkFailoverMessage,
]);
export type RelayTelemetryMessage = z.infer<typeof RelayTelemetryMessage>;
