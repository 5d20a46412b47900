export * from './api-schemas.js';
export { clientPlatform } from './client-info.js';
export {
  type CloudApi,
  CloudLink,
  type CloudLinkOptions,
  type CloudLinkSnapshot,
  IrlActivationError,
  type TelemetryConnection,
} from './cloudlink.js';
export {
  ControlPlaneClient,
  type ControlPlaneClientOptions,
  ControlPlaneError,
  type FetchLike,
  type StartRequest,
  type StartResult,
} from './control-plane-client.js';
export { type CloudLinkWiring, createCloudLink } from './from-config.js';
export {
  DEFAULT_RELAY_SOURCE_NAME,
  type EnsureRelaySourceOptions,
  type EnsureRelaySourceResult,
  ensureRelayMediaSource,
  fixMediaSources,
  type ObsRequester,
  RELAY_SOURCE_KIND,
  relaySourceSettings,
} from './obs-media-source.js';
export { buildPairing, type PairingDetails, renderQrForTerminal } from './pairing.js';
export { relayAddressReason } from './relay-address.js';
export type { RelaySignal, RelaySignalKind, RelaySignalSink } from './relay-signals.js';
export {
  RelayTelemetryClient,
  type RelayTelemetryEvents,
  type RelayTelemetryOptions,
  type TelemetryDisconnect,
} from './relay-telemetry.js';
export * from './telemetry-messages.js';
