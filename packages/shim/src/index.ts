export { EngineSupervisor, type EngineSupervisorOptions } from './engine-supervisor.js';
export { type FailureInfo, failurePageHtml, serveFailurePage } from './failure-page.js';
export {
  SHIM_PING_INTERVAL_MS,
  SHIM_STALE_AFTER_MISSED_PINGS,
  ShimIpcClient,
  type ShimIpcClientOptions,
} from './ipc-client.js';
export { ObsControl, type ObsTarget } from './obs-control.js';
export { type RunShimOptions, runShim, SHIM_VERSION, type ShimExit, type ShimHandle } from './run-shim.js';
export { type ExecuteSwitch, SwitchExecutor } from './switch-executor.js';
