import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import {
  type IpcMessage,
  type Logger,
  makeMessage,
  type SettingKey,
  type StatusSnapshotPayload,
} from '@telemy/protocol';
import { EngineSupervisor } from './engine-supervisor.js';
import { serveFailurePage } from './failure-page.js';
import { ShimIpcClient } from './ipc-client.js';
import { ObsControl, type ObsTarget } from './obs-control.js';
import { SwitchExecutor } from './switch-executor.js';

export const SHIM_VERSION = '0.1.0';

export interface RunShimOptions {
  /** argv that starts the engine, e.g. `[process.execPath, telemyBin, 'engine']`. */
  engineCommand: string[];
  ipcDir: string;
  obs: ObsTarget;
  dashboardPort: number;
  /** Where the failure page binds; the dashboard's host (loopback by default). */
  dashboardHost?: string;
  logger: Logger;
  /** After each spawn the engine must answer hello within this. Default 20 s. */
  startupWindowMs?: number;
  /** Extra environment for the engine (on top of ours, plus `TELEMY_IPC_DIR`). */
  env?: NodeJS.ProcessEnv;
  /** Copy the engine's output to ours. Default true. */
  forwardEngineOutput?: boolean;
  /** Where the one-line failure message goes. Default stderr. */
  printLine?: (line: string) => void;
  /** IPC timing overrides (tests). */
  pingIntervalMs?: number;
  staleAfterMissedPings?: number;
  obsRetryMs?: number;
}

export type ShimExit = {
  reason: 'shutdown_request' | 'engine_exited' | 'obs_exit' | 'stopped';
  detail?: string;
};

type ShimEvents = {
  status: [StatusSnapshotPayload];
  connected: [{ reconnect: boolean }];
  disconnected: [string];
  switch: [{ request_id: string; ok: boolean; error: string | null; latency_ms: number }];
  notice: [{ level: string; message: string }];
  'engine-spawn': [{ pid: number | undefined; attempt: number }];
  failed: [{ lastError: string }];
};

export interface ShimHandle extends EventEmitter<ShimEvents> {
  readonly state: 'running' | 'failed' | 'stopped';
  readonly lastStatus: StatusSnapshotPayload | null;
  readonly enginePid: number | undefined;
  /** 0 or 1: the supervisor restarts a crashed engine at most once. */
  readonly engineRestarts: number;
  readonly ipcConnected: boolean;
  setMode(mode: 'studio' | 'irl'): boolean;
  setSetting(key: SettingKey, value: boolean): boolean;
  stop(): Promise<void>;
  /** Resolves when the shim has finished (shutdown request, OBS exit, engine exit, or stop()). */
  readonly done: Promise<ShimExit>;
}

/**
 * `telemy start`: spawns and supervises the engine, links to it over IPC v1, and executes its scene
 * switches in OBS. After the engine failed twice it serves a failure page on the dashboard port.
 */
export async function runShim(opts: RunShimOptions): Promise<ShimHandle> {
  const log = opts.logger.child({ component: 'shim' });
  const printLine = opts.printLine ?? ((line: string) => process.stderr.write(`${line}\n`));
  const events = new EventEmitter<ShimEvents>();
  let state: ShimHandle['state'] = 'running';
  let lastStatus: StatusSnapshotPayload | null = null;
  let failureServer: Server | null = null;
  let obsExiting = false;
  let resolveDone!: (e: ShimExit) => void;
  const done = new Promise<ShimExit>((r) => {
    resolveDone = r;
  });

  const obs = new ObsControl(opts.obs, opts.logger, opts.obsRetryMs);
  const ipc = new ShimIpcClient({
    dir: opts.ipcDir,
    logger: opts.logger,
    pluginVersion: SHIM_VERSION,
    ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
    ...(opts.staleAfterMissedPings ? { staleAfterMissedPings: opts.staleAfterMissedPings } : {}),
  });
  const supervisor = new EngineSupervisor({
    command: opts.engineCommand,
    env: { ...process.env, ...opts.env, TELEMY_IPC_DIR: opts.ipcDir },
    logger: opts.logger,
    startupWindowMs: opts.startupWindowMs ?? 20_000,
    forwardOutput: opts.forwardEngineOutput ?? true,
  });
  const executor = new SwitchExecutor(
    (scene, deadlineAt) => obs.switchScene(scene, deadlineAt),
    (result, latencyMs) => {
      log.info({ ...result, latency_ms: latencyMs }, 'scene switch executed');
      ipc.send(makeMessage('scene_switch_result', result));
      events.emit('switch', { ...result, latency_ms: latencyMs });
    },
  );

  const sendSceneList = () => {
    if (obs.connected) ipc.send(makeMessage('scene_list', obs.scenes));
  };

  const finish = async (exit: ShimExit) => {
    if (state === 'stopped') return;
    state = 'stopped';
    log.info(exit, 'shim stopping');
    // The engine first: it then closes the IPC link as part of its own shutdown, instead of seeing
    // the shim vanish and reporting its scene path lost on a clean Ctrl-C.
    await supervisor.stop();
    ipc.stop();
    await obs.stop();
    if (failureServer) await new Promise<void>((r) => failureServer?.close(() => r()));
    resolveDone(exit);
  };

  ipc.on('connected', ({ reconnect }) => {
    supervisor.markHealthy();
    sendSceneList();
    events.emit('connected', { reconnect });
  });
  ipc.on('disconnected', (reason) => events.emit('disconnected', reason));
  ipc.on('notice', (n) => {
    log[n.level === 'error' ? 'error' : n.level === 'warn' ? 'warn' : 'info'](
      { notice: n.message },
      'engine notice',
    );
    events.emit('notice', n);
  });
  ipc.on('message', (m: IpcMessage) => {
    switch (m.type) {
      case 'switch_scene':
        executor.enqueue(m.payload);
        return;
      case 'status_snapshot':
        lastStatus = m.payload;
        events.emit('status', m.payload);
        return;
      case 'shutdown_request':
        log.info({ reason: m.payload.reason }, 'engine requested shutdown');
        void finish({ reason: 'shutdown_request', detail: m.payload.reason });
        return;
      default:
        return;
    }
  });

  obs.on('scenes', sendSceneList);
  obs.on('exit', () => {
    obsExiting = true;
    ipc.send(makeMessage('obs_shutdown_notice', { reason: 'obs_exit' }));
  });

  supervisor.on('spawn', (s) => events.emit('engine-spawn', s));
  supervisor.on('exit', () => void finish({ reason: obsExiting ? 'obs_exit' : 'engine_exited' }));
  supervisor.on('crash', ({ reason, willRestart }) => {
    if (obsExiting) {
      void finish({ reason: 'obs_exit', detail: reason });
      return;
    }
    if (willRestart) printLine(`telemy: engine stopped (${reason}); restarting it once`);
  });
  supervisor.on('failed', async ({ lastError }) => {
    state = 'failed';
    ipc.stop();
    printLine(`telemy: engine failed twice: ${lastError} — run \`telemy start\` again after fixing it`);
    events.emit('failed', { lastError });
    const host = opts.dashboardHost ?? '127.0.0.1';
    try {
      failureServer = await serveFailurePage(host, opts.dashboardPort, { lastError, failedAt: new Date() });
      log.info({ url: `http://${host}:${opts.dashboardPort}` }, 'serving the engine failure page');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not serve the failure page on the dashboard port');
    }
  });

  obs.start();
  supervisor.start();
  ipc.start();

  // defineProperties, not Object.assign: the getters must stay live instead of being copied once.
  Object.defineProperties(events, {
    state: { get: () => state },
    lastStatus: { get: () => lastStatus },
    enginePid: { get: () => supervisor.pid },
    engineRestarts: { get: () => supervisor.restarts },
    ipcConnected: { get: () => ipc.connected },
    done: { value: done },
  });
  const handle = Object.assign(events, {
    setMode: (mode: 'studio' | 'irl') => ipc.send(makeMessage('set_mode_request', { mode })),
    setSetting: (key: SettingKey, value: boolean) =>
      ipc.send(makeMessage('set_setting_request', { key, value })),
    stop: () => finish({ reason: 'stopped' }),
  });
  return handle as ShimHandle;
}
