export { IpcSceneSwitcher } from './ipc-scene-switcher.js';
export {
  IPC_ENGINE_PING_TIMEOUT_MS,
  IPC_SNAPSHOT_INTERVAL_MS,
  type IpcAlertKind,
  IpcServer,
  type IpcServerOptions,
  type IpcSwitchRequest,
  type IpcSwitchResult,
} from './ipc-server.js';
