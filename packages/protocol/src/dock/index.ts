export * from '../source-types.js';
export * from './actions.js';
export * from './dock-state.js';
export * from './messages.js';
export * from './settings.js';
