export { EngineMetrics } from './export/metrics.js';
export {
  MetricsHub,
  type MetricsHubOptions,
  type MetricsSnapshot,
  type ObsStatsSnapshot,
  type OutputConfig,
  type OutputSnapshot,
  type StreamSnapshot,
} from './obs/metrics-hub.js';
export {
  ObsLink,
  type ObsLinkEvents,
  type ObsLinkOptions,
  ObsNotConnectedError,
  ObsRequestError,
  ObsTimeoutError,
} from './obs/obs-link.js';
export type { ObsConnection, ObsOutputInfo, ObsState } from './obs/obs-state.js';
export { counterIncrement, type OutputCounters, type OutputRates, outputRates } from './obs/output-rates.js';
export type { SceneSwitcher, SwitchReason, SwitchRequest, SwitchResult } from './scenes/scene-switcher.js';
export * from './server/dock-socket.js';
export * from './server/dock-sparkline.js';
export * from './server/dock-state.js';
export {
  defaultSystemProbes,
  SystemMetrics,
  type SystemMetricsOptions,
  type SystemProbes,
  type SystemSample,
} from './system/system-metrics.js';
export * from './cloudlink/index.js';
export * from './ipc/index.js';
export { Engine, ENGINE_VERSION, type EngineOptions, type EngineUrls } from './app.js';
export * from './chat/index.js';
