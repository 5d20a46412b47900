import { connect, type Socket } from 'node:net';

export const IPC_CONNECT_TIMEOUT_MS = 1500;

/** Opens one IPC channel (Unix socket path or Windows pipe name), giving up after `timeoutMs`. */
export function connectIpcChannel(endpoint: string, timeoutMs = IPC_CONNECT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(endpoint);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${endpoint} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // Until the owner attaches its own handler, a late error must not be an unhandled 'error' event.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}
