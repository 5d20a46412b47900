import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  connectIpcChannel,
  createLogger,
  FramedSocket,
  type IpcMessage,
  ipcEndpoints,
  type MessageType,
  makeMessage,
} from '@telemy/protocol';
import { snapshot } from '../../../protocol/test/ipc/fixtures.js';
import { IpcServer, type IpcServerOptions } from '../../src/ipc/index.js';
import { EngineMetrics } from '../../src/metrics/metrics.js';

// Re-exported for the shim's tests, which drive a real engine-side IpcServer without pulling in the
// whole engine package (its index also loads every other subsystem).
export { EngineMetrics, IpcServer, snapshot };

export const silentLogger = createLogger('test', { level: 'silent' });

export async function tempIpcDir(): Promise<string> {
  const base = await mkdtemp(path.join(tmpdir(), 'telemy-ipc-'));
  return path.join(base, 'run');
}

export async function startServer(overrides: Partial<IpcServerOptions> = {}) {
  const dir = overrides.dir ?? (await tempIpcDir());
  const metrics = new EngineMetrics();
  const server = new IpcServer({
    dir,
    logger: silentLogger,
    metrics,
    coreVersion: '9.9.9',
    getStatusSnapshot: () => snapshot(),
    snapshotIntervalMs: 60_000,
    ...overrides,
  });
  await server.start();
  return { server, dir, metrics };
}

export function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 3000,
  what = 'condition',
): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = check();
      if (v) return resolve(v);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export async function retry<T>(fn: () => Promise<T>, timeoutMs = 2000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() - started > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A hand-driven IPC peer: connects both channels and records everything the engine sends. */
export async function rawClient(dir: string) {
  const ep = ipcEndpoints(dir);
  const evtSocket = await connectIpcChannel(ep.evt);
  const cmdSocket = await connectIpcChannel(ep.cmd).catch((err) => {
    evtSocket.destroy();
    throw err;
  });
  const evt = new FramedSocket(evtSocket);
  const cmd = new FramedSocket(cmdSocket);
  const received: IpcMessage[] = [];
  const onMsg = (m: IpcMessage) => received.push(m);
  evt.on('message', onMsg);
  cmd.on('message', onMsg);
  let closed = false;
  evt.on('close', () => {
    closed = true;
  });
  return {
    evt,
    cmd,
    received,
    get closed() {
      return closed;
    },
    next<T extends MessageType>(type: T, after = 0, timeoutMs = 3000) {
      return waitFor(
        () => received.slice(after).find((m): m is Extract<IpcMessage, { type: T }> => m.type === type),
        timeoutMs,
        type,
      );
    },
    hello(protocolVersion = 1) {
      cmd.send(
        makeMessage('hello', {
          plugin_version: 'test',
          protocol_version: protocolVersion,
          obs_pid: null,
          capabilities: ['scene_switch'],
        }),
      );
    },
    ping(nonce: number | string) {
      cmd.send(makeMessage('ping', { nonce }));
    },
    close() {
      evt.destroy();
      cmd.destroy();
    },
  };
}
