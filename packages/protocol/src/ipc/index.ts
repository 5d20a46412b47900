export * from './connect.js';
export * from './endpoints.js';
export * from './error-window.js';
export * from './frame.js';
export * from './framed-socket.js';
export * from './messages.js';
export * from './outbox.js';
