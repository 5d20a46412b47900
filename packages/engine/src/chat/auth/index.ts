export { PLATFORMS, type Platform } from '../config.js';
export * from './doctor.js';
export * from './lifetime.js';
export { chatLogin, type LoginOptions, type LoginPrompt } from './login.js';
export * from './platforms.js';
export * from './token-record.js';
export {
  type ChatAuthKind,
  type ChatAuthStatus,
  TokenSource,
  type TokenSourceOptions,
} from './token-source.js';
