import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** Where the two IPC v1 channels live. */
export interface IpcEndpoints {
  /** Command channel, shim → engine. */
  cmd: string;
  /** Event channel, engine → shim. */
  evt: string;
}

export const CMD_CHANNEL = 'aegis_cmd_v1';
export const EVT_CHANNEL = 'aegis_evt_v1';

export function ipcEndpoints(dir: string, platform: NodeJS.Platform = process.platform): IpcEndpoints {
  if (platform === 'win32') {
    return { cmd: `\\\\.\\pipe\\${CMD_CHANNEL}`, evt: `\\\\.\\pipe\\${EVT_CHANNEL}` };
  }
  return { cmd: path.join(dir, `${CMD_CHANNEL}.sock`), evt: path.join(dir, `${EVT_CHANNEL}.sock`) };
}

/** Creates the socket folder private to the current user (0700, also when it already existed). */
export async function prepareIpcDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Removes a leftover socket file (a crashed engine leaves one behind and `listen` would fail). */
export async function removeStaleSocket(endpoint: string, platform: NodeJS.Platform = process.platform) {
  if (platform === 'win32') return;
  await rm(endpoint, { force: true });
}
