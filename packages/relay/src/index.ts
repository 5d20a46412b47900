export * from './agent.js';
export * from './config.js';
export * from './feed-selector.js';
export * from './link-meter.js';
export * from './self-destruct.js';
export * from './srt-stats.js';
