export { EngineMetrics } from './export/metrics.js';
export type { SceneSwitcher, SwitchReason, SwitchRequest, SwitchResult } from './scenes/scene-switcher.js';
