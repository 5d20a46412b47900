import { RelayBonded, RelayLink } from '@telemy/protocol';
import { z } from 'zod';

/**
 * Messages on the relay's telemetry WebSocket (`40-relay.md` §3), one JSON object per frame with a
 * `type`. Unknown fields are dropped; unknown types are ignored by the client.
 */
const timestamp = z.union([z.string(), z.number()]);

export const HelloMessageSchema = z.object({
  type: z.literal('hello'),
  session_id: z.string(),
  uptime_s: z.number(),
});

export const StatsMessageSchema = z.object({
  type: z.literal('stats'),
  links: z.array(RelayLink).default([]),
  bonded: RelayBonded.nullish().transform((v) => v ?? null),
  ingest_active: z.boolean(),
  egress_clients: z
    .number()
    .nullish()
    .transform((v) => v ?? null),
  /** The link whose packets reach the egress right now. */
  forwarded_link_id: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
});

export const IngestMessageSchema = z.object({
  type: z.literal('ingest'),
  state: z.enum(['stalled', 'resumed']),
  link_id: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  at: timestamp,
});

export const LinkFailoverMessageSchema = z.object({
  type: z.literal('link_failover'),
  from: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  to: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  at: timestamp,
});

export const TelemetryMessageSchema = z.discriminatedUnion('type', [
  HelloMessageSchema,
  StatsMessageSchema,
  IngestMessageSchema,
  LinkFailoverMessageSchema,
]);

export type HelloMessage = z.infer<typeof HelloMessageSchema>;
export type StatsMessage = z.infer<typeof StatsMessageSchema>;
export type IngestMessage = z.infer<typeof IngestMessageSchema>;
export type LinkFailoverMessage = z.infer<typeof LinkFailoverMessageSchema>;
export type TelemetryMessage = z.infer<typeof TelemetryMessageSchema>;

export const KNOWN_TELEMETRY_TYPES: ReadonlySet<string> = new Set([
  'hello',
  'stats',
  'ingest',
  'link_failover',
]);
