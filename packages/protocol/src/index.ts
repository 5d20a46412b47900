export * from './logging.js';
export * from './paths.js';
