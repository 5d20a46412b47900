import {
  RelayHelloMessage,
  RelayIngestMessage,
  RelayLinkFailoverMessage,
  RelayStatsMessage,
  RelayTelemetryMessage,
} from '@telemy/protocol';

/**
 * Messages on the relay's telemetry WebSocket, from the shared protocol package
 * the relay agent sends with. Unknown fields are dropped; unknown types are ignored by the client.
 */
export const HelloMessageSchema = RelayHelloMessage;
export const StatsMessageSchema = RelayStatsMessage;
export const IngestMessageSchema = RelayIngestMessage;
export const LinkFailoverMessageSchema = RelayLinkFailoverMessage;
export const TelemetryMessageSchema = RelayTelemetryMessage;

export type HelloMessage = RelayHelloMessage;
export type StatsMessage = RelayStatsMessage;
export type IngestMessage = RelayIngestMessage;
export type LinkFailoverMessage = RelayLinkFailoverMessage;
export type TelemetryMessage = RelayTelemetryMessage;

export const KNOWN_TELEMETRY_TYPES: ReadonlySet<string> = new Set([
  'hello',
  'stats',
  'ingest',
  'link_failover',
]);
