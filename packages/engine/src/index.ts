export { EngineApp, type EngineOptions, type EngineUrls } from './app.js';
export * from './chat/index.js';
export { ENGINE_VERSION } from './cloudlink/client-info.js';
export * from './cloudlink/index.js';
export {
  type CommandResult,
  type ExplicitCommand,
  FailoverController,
  type FailoverControllerOptions,
} from './failover/controller.js';
export type { Diagnostics, WindowFigures } from './failover/diagnostics.js';
export {
  type DraftEvent,
  EVENT_HISTORY_SIZE,
  EventHistory,
  type EventLevel,
  type FailoverEvent,
} from './failover/events.js';
export {
  type ActiveIntent,
  type CommandOrigin,
  createFailoverState,
  currentMode,
  type Decision,
  decide,
  type FailoverAction,
  type FailoverInput,
  type FailoverState,
  type FeedObservation,
  type RuleId,
  type SceneIntent,
  type SwitchAction,
  sceneFor,
} from './failover/machine.js';
export {
  type ModeState,
  type ModeTrigger,
  TRANSITIONS,
  transition,
} from './failover/modes.js';
export {
  AUTOMATION_DEFAULTS,
  type AutomationFlags,
  FAILOVER_BOUNDS,
  FAILOVER_DEFAULTS,
  type FailoverParams,
  managedScenes,
  resolveFailoverParams,
  SCENE_DEFAULTS,
  type SceneRoles,
} from './failover/params.js';
export * from './ipc/index.js';
export { EngineMetrics } from './metrics/metrics.js';
export {
  loadInstanceId,
  OTLP_SERVICE_NAME,
  OtlpMetricsPush,
  type OtlpMetricsPushOptions,
} from './metrics/otlp.js';
export { type OtlpExportStatus, otlpDisabledStatus, otlpMetricsUrl } from './metrics/otlp-status.js';
export { type PromMetric, type PromSample, promToOtlp } from './metrics/prom-to-otlp.js';
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
export { DirectSceneSwitcher, obsLinkSwitchPort } from './scenes/direct-scene-switcher.js';
export type { SceneSwitcher, SwitchReason, SwitchRequest, SwitchResult } from './scenes/scene-switcher.js';
export * from './server/dock-socket.js';
export * from './server/dock-sparkline.js';
export * from './server/dock-state.js';
export {
  type Classification,
  classifyFeed,
  type FeedHistory,
  type FeedThresholds,
  type SelectedFeed,
  selectFeed,
} from './sources/classify.js';
export { FeedMonitor, type MonitoredSource } from './sources/feed-monitor.js';
export { type FeedSample, type ParseOutcome, toSample } from './sources/feed-sample.js';
export { HttpStatsPoller, type HttpStatsPollerOptions } from './sources/http-poller.js';
export { SOURCE_MODULES } from './sources/registry.js';
export type { SourceContext, SourceModule, SourceRunner } from './sources/source-module.js';
export { parseSrtLiveTransmitLine } from './sources/srt-stats-line.js';
export { SrtStatsFileTail, type SrtStatsTailOptions } from './sources/srt-stats-tail.js';
export {
  defaultSystemProbes,
  SystemMetrics,
  type SystemMetricsOptions,
  type SystemProbes,
  type SystemSample,
} from './system/system-metrics.js';
