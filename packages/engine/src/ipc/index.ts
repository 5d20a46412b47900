export {
  IPC_ENGINE_PING_TIMEOUT_MS,
  IPC_SNAPSHOT_INTERVAL_MS,
  type IpcAlertKind,
  IpcServer,
  type IpcServerOptions,
} from './ipc-server.js';
