export { EngineMetrics } from './export/metrics.js';
