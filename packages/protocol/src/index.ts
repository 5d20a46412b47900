export * from './api/control-plane.js';
export * from './dock/index.js';
export * from './ipc/index.js';
export * from './logging.js';
export * from './package-root.js';
export * from './paths.js';
export * from './relay/telemetry.js';
