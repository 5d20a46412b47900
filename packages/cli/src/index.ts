export { registerCommands } from './commands/index.js';
