import { EventEmitter } from 'node:events';
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import {
  connectIpcChannel,
  FramedSocket,
  type FrameResult,
  type HelloPayload,
  IPC_PROTOCOL_VERSION,
  type IpcEndpoints,
  type IpcMessage,
  ipcEndpoints,
  type Logger,
  makeMessage,
  type PayloadOf,
  type Priority,
  ProtocolErrorWindow,
  prepareIpcDir,
  ranLate,
  removeStaleSocket,
  type SceneListPayload,
  type SettingKey,
  type StatusSnapshotPayload,
  type SwitchError,
  switchErrorText,
} from '@telemy/protocol';
import type { EngineMetrics } from '../metrics/metrics.js';
import type { SceneSwitcher, SwitchRequest, SwitchResult } from '../scenes/scene-switcher.js';

export const IPC_ENGINE_PING_TIMEOUT_MS = 3500;
export const IPC_SNAPSHOT_INTERVAL_MS = 1000;
/** Extra time after `deadline_ms` for the shim's (already late) answer to travel back. */
const RESULT_GRACE_MS = 100;

export interface IpcServerOptions {
  /** Socket folder (Unix); ignored on Windows, where the pipe names are fixed. */
  dir: string;
  logger: Logger;
  metrics: EngineMetrics;
  coreVersion: string;
  getStatusSnapshot(): StatusSnapshotPayload;
  onSetMode?(mode: 'studio' | 'irl'): void;
  onSetSetting?(key: SettingKey, value: boolean): void;
  onSceneList?(list: SceneListPayload): void;
  onObsShutdown?(reason: 'obs_module_unload' | 'obs_exit'): void;
  platform?: NodeJS.Platform;
  now?: () => number;
  /** No ping for this long → session closed, endpoints recreated (default 3500 ms). */
  pingTimeoutMs?: number;
  snapshotIntervalMs?: number;
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
  lowNormalCapacity?: number;
}

export type IpcAlertKind =
  | 'critical_deadline_missed'
  | 'protocol_error_storm'
  | 'heartbeat_lost'
  | 'version_mismatch';

type IpcServerEvents = {
  /** `ipc_ready` changed: hello done and pings arriving (true), or the link is gone (false). */
  ready: [boolean];
  alert: [{ kind: IpcAlertKind; message: string }];
};

interface Session {
  cmd: FramedSocket | null;
  evt: FramedSocket | null;
  openedAt: number;
  hello: HelloPayload | null;
  ackSent: boolean;
  lastPingAt: number | null;
}

interface PendingSwitch {
  sentAt: number;
  timer: NodeJS.Timeout;
  resolve: (r: SwitchResult) => void;
}

/**
 * The engine's end of IPC v1: hosts both channels, accepts one shim session at a
 * time, answers the handshake and pings, pushes status snapshots, sends `switch_scene` and matches
 * the shim's results. Bad input, storms and dead peers end the session, never the engine.
 */
export class IpcServer extends EventEmitter<IpcServerEvents> implements SceneSwitcher {
  readonly endpoints: IpcEndpoints;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly platform: NodeJS.Platform;
  private readonly pingTimeoutMs: number;
  private readonly errors = new ProtocolErrorWindow();
  private servers: Server[] = [];
  private session: Session | null = null;
  private readonly pending = new Map<string, PendingSwitch>();
  private isReady = false;
  private hadSession = false;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: IpcServerOptions) {
    super();
    this.platform = opts.platform ?? process.platform;
    this.endpoints = ipcEndpoints(opts.dir, this.platform);
    this.log = opts.logger.child({ component: 'ipc' });
    this.now = opts.now ?? Date.now;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? IPC_ENGINE_PING_TIMEOUT_MS;
  }

  /** `ipc_ready`: the scene path through the shim can take a switch. */
  ready(): boolean {
    return this.isReady;
  }

  /** Creates the private socket folder and starts listening on both channels. */
  async start(): Promise<void> {
    if (this.platform !== 'win32') await prepareIpcDir(this.opts.dir);
    await this.listen();
    const watchEvery = Math.max(20, Math.floor(this.pingTimeoutMs / 7));
    let lastCheck: number | null = null;
    this.watchdog = setInterval(() => {
      const t = this.now();
      // After the engine's own stall the shim's pings are still unread: check again next round.
      const late = ranLate(lastCheck, t, watchEvery);
      lastCheck = t;
      if (!late) this.checkHeartbeat();
    }, watchEvery);
    this.snapshotTimer = setInterval(
      () => this.pushStatus(),
      this.opts.snapshotIntervalMs ?? IPC_SNAPSHOT_INTERVAL_MS,
    );
    this.log.info({ cmd: this.endpoints.cmd, evt: this.endpoints.evt }, 'IPC listening');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.endSession('engine stopping');
    await this.closeServers();
  }

  /** Pushes a fresh snapshot now (coalesced with any snapshot not yet written). */
  notifyStatusChanged(): void {
    this.pushStatus();
  }

  /** Sends a shutdown request to the shim (it stops the engine and exits). */
  requestShutdown(reason: PayloadOf<'shutdown_request'>['reason']): boolean {
    return this.send(makeMessage('shutdown_request', { reason }));
  }

  /** Sends `switch_scene` and resolves with the shim's result, or `deadline_exceeded` after the deadline. */
  switchScene(req: SwitchRequest): Promise<SwitchResult> {
    const failed = (error: SwitchError, latencyMs = 0): SwitchResult => ({ ok: false, error, latencyMs });
    if (!this.isReady || !this.session?.evt) {
      return Promise.resolve(failed({ code: 'scene_path_down', message: 'the shim link is not ready' }));
    }
    if (this.pending.has(req.requestId)) {
      return Promise.resolve(
        failed({ code: 'obs_rejected', message: `request id ${req.requestId} is already pending` }),
      );
    }
    const sentAt = this.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(req.requestId);
        this.opts.metrics.ipcTimeoutsTotal.inc({ lane: 'critical' });
        this.opts.metrics.sceneSwitchIpcPathSeconds.observe(
          { result: 'timeout' },
          (this.now() - sentAt) / 1000,
        );
        this.log.warn({ request_id: req.requestId, scene: req.scene }, 'scene switch got no result in time');
        resolve(
          failed(
            { code: 'deadline_exceeded', message: `the shim did not answer within ${req.deadlineMs} ms` },
            this.now() - sentAt,
          ),
        );
      }, req.deadlineMs + RESULT_GRACE_MS);
      this.pending.set(req.requestId, { sentAt, timer, resolve });
      this.send(
        makeMessage('switch_scene', {
          request_id: req.requestId,
          scene_name: req.scene,
          reason: req.reason,
          deadline_ms: req.deadlineMs,
        }),
      );
    });
  }

  private async listen(): Promise<void> {
    const pairs: Array<[keyof IpcEndpoints, string]> = [
      ['cmd', this.endpoints.cmd],
      ['evt', this.endpoints.evt],
    ];
    for (const [channel, endpoint] of pairs) {
      await this.ensureNotInUse(endpoint);
      await removeStaleSocket(endpoint, this.platform);
      const server = createServer((socket) => this.onConnection(channel, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(endpoint, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error({ err, channel }, 'IPC endpoint error'));
      if (this.platform !== 'win32') await chmod(endpoint, 0o600);
      this.servers.push(server);
    }
  }

  /** A socket that still accepts connections belongs to a live engine: never steal it. */
  private async ensureNotInUse(endpoint: string): Promise<void> {
    if (this.platform === 'win32') return;
    const socket = await connectIpcChannel(endpoint, 300).catch(() => null);
    if (!socket) return;
    socket.destroy();
    throw new Error(`another Telemy engine is already listening on ${endpoint}; stop it first`);
  }

  private async closeServers(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private async recreateEndpoints(): Promise<void> {
    if (this.stopped) return;
    await this.closeServers();
    if (this.stopped) return;
    try {
      await this.listen();
      this.log.info('IPC endpoints recreated');
    } catch (err) {
      this.log.error({ err }, 'IPC endpoints could not be recreated');
    }
  }

  private framed(socket: Socket): FramedSocket {
    return new FramedSocket(socket, {
      now: this.now,
      ...(this.opts.readTimeoutMs ? { readTimeoutMs: this.opts.readTimeoutMs } : {}),
      ...(this.opts.writeTimeoutMs ? { writeTimeoutMs: this.opts.writeTimeoutMs } : {}),
      ...(this.opts.lowNormalCapacity ? { lowNormalCapacity: this.opts.lowNormalCapacity } : {}),
      onDrop: (lane) => this.onDrop(lane),
    });
  }

  private onConnection(channel: keyof IpcEndpoints, socket: Socket): void {
    const conn = this.framed(socket);
    const current = this.session?.[channel];
    if (current && !current.closed) {
      this.log.warn({ channel }, 'second IPC client refused: a session is already active');
      conn.send(
        makeMessage('user_notice', {
          level: 'error',
          message:
            'Telemy engine refused this connection: another shim is already connected (one session at a time).',
        }),
      );
      conn.closeAfterFlush();
      return;
    }
    this.session ??= {
      cmd: null,
      evt: null,
      openedAt: this.now(),
      hello: null,
      ackSent: false,
      lastPingAt: null,
    };
    const session = this.session;
    session[channel] = conn;
    this.log.info({ channel }, 'IPC client connected');
    conn.on('close', () => {
      if (this.session === session) this.endSession(`${channel} channel closed`);
    });
    conn.on('protocol-error', (e) => this.onProtocolError(session, e));
    conn.on('timeout', (kind) => {
      this.opts.metrics.ipcTimeoutsTotal.inc({ lane: kind === 'read' ? 'read' : 'write' });
      this.log.warn({ channel, kind }, 'IPC I/O timeout');
    });
    conn.on('critical-overdue', (entry) => {
      this.opts.metrics.ipcTimeoutsTotal.inc({ lane: 'critical' });
      const message = `critical ${entry.message.type} not written within its deadline`;
      this.log.error({ id: entry.message.id }, message);
      this.emit('alert', { kind: 'critical_deadline_missed', message });
    });
    if (channel === 'cmd') conn.on('message', (m) => this.onCommand(session, m));
    if (channel === 'evt' && session.hello && !session.ackSent) this.sendHelloAck(session);
  }

  private onCommand(session: Session, m: IpcMessage): void {
    switch (m.type) {
      case 'hello':
        this.onHello(session, m.payload);
        return;
      case 'ping':
        session.lastPingAt = this.now();
        this.send(makeMessage('pong', { nonce: m.payload.nonce }));
        if (session.ackSent) this.setReady(true);
        return;
      case 'request_status':
        this.pushStatus();
        return;
      case 'scene_switch_result':
        this.onSwitchResult(m.payload);
        return;
      case 'obs_shutdown_notice':
        this.log.info({ reason: m.payload.reason }, 'OBS is shutting down');
        this.callback(() => this.opts.onObsShutdown?.(m.payload.reason));
        return;
      case 'set_mode_request':
        this.callback(() => this.opts.onSetMode?.(m.payload.mode));
        return;
      case 'set_setting_request':
        this.callback(() => this.opts.onSetSetting?.(m.payload.key, m.payload.value));
        return;
      case 'scene_list':
        this.callback(() => this.opts.onSceneList?.(m.payload));
        return;
      case 'protocol_error':
        this.log.warn({ code: m.payload.code, detail: m.payload.message }, 'shim reported a protocol error');
        return;
      default:
        this.onProtocolError(session, {
          ok: false,
          error: 'unknown_type',
          detail: `${m.type} is not a command (engine → shim only)`,
          relatedMessageId: m.id,
        });
    }
  }

  private onHello(session: Session, hello: HelloPayload): void {
    if (hello.protocol_version !== IPC_PROTOCOL_VERSION) {
      this.rejectVersion(session, hello.protocol_version);
      return;
    }
    session.hello = hello;
    session.lastPingAt = this.now();
    this.log.info(
      { plugin_version: hello.plugin_version, obs_pid: hello.obs_pid, capabilities: hello.capabilities },
      'IPC handshake',
    );
    if (session.evt) this.sendHelloAck(session);
  }

  private sendHelloAck(session: Session): void {
    session.ackSent = true;
    if (this.hadSession) this.opts.metrics.ipcReconnectsTotal.inc();
    this.hadSession = true;
    session.evt?.send(
      makeMessage('hello_ack', {
        core_version: this.opts.coreVersion,
        protocol_version: IPC_PROTOCOL_VERSION,
        capabilities: ['state_machine', 'chatbridge', 'dashboard'],
      }),
    );
  }

  private rejectVersion(session: Session, version: number | string): void {
    const message = `Protocol mismatch: the OBS side speaks IPC v${version}, this engine speaks v${IPC_PROTOCOL_VERSION}. Update Telemy so both match.`;
    this.log.error({ peer_version: version }, 'IPC protocol version mismatch');
    this.emit('alert', { kind: 'version_mismatch', message });
    const out = session.evt ?? session.cmd;
    out?.send(makeMessage('user_notice', { level: 'error', message }));
    out?.send(makeMessage('protocol_error', { code: 'version_mismatch', message, related_message_id: null }));
    this.endSession('version mismatch', true);
  }

  private onSwitchResult(r: PayloadOf<'scene_switch_result'>): void {
    const { request_id: requestId, ok } = r;
    const p = this.pending.get(requestId);
    if (!p) {
      this.log.warn({ request_id: requestId }, 'scene_switch_result for an unknown or expired request');
      return;
    }
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    const latency = this.now() - p.sentAt;
    this.opts.metrics.ipcRoundtripSeconds.observe({ lane: 'critical' }, latency / 1000);
    this.opts.metrics.sceneSwitchIpcPathSeconds.observe({ result: ok ? 'ok' : 'failed' }, latency / 1000);
    // A shim that predates error codes sends only the text: it counts as not confirmed.
    const code = r.error_code ?? 'not_confirmed';
    const error: SwitchError | null = ok ? null : { code, message: r.error ?? switchErrorText(code) };
    this.log.info({ request_id: requestId, ok, error, latency_ms: latency }, 'scene switch result');
    p.resolve({ ok, error, latencyMs: latency });
  }

  private onProtocolError(session: Session, e: Extract<FrameResult, { ok: false }>): void {
    if (this.session !== session) return;
    this.log.warn({ code: e.error, detail: e.detail }, 'IPC protocol error');
    if (e.error === 'version_mismatch') {
      this.rejectVersion(session, e.detail.match(/version (\S+)/)?.[1] ?? '?');
      return;
    }
    this.send(
      makeMessage('protocol_error', {
        code: e.error,
        message: e.detail,
        related_message_id: e.relatedMessageId,
      }),
    );
    if (this.errors.record(this.now())) {
      const message = 'more than 5 IPC protocol errors within 10 s: connection reset';
      this.log.error(message);
      this.emit('alert', { kind: 'protocol_error_storm', message });
      this.errors.reset();
      this.endSession('protocol error storm');
    }
  }

  private checkHeartbeat(): void {
    const s = this.session;
    if (!s) return;
    const since = s.lastPingAt ?? s.openedAt;
    if (this.now() - since <= this.pingTimeoutMs) return;
    const message = s.hello
      ? `no ping from the shim for ${this.pingTimeoutMs} ms: session closed`
      : `no handshake within ${this.pingTimeoutMs} ms: session closed`;
    this.log.warn(message);
    this.opts.metrics.ipcTimeoutsTotal.inc({ lane: 'high' });
    if (s.hello) this.emit('alert', { kind: 'heartbeat_lost', message });
    this.endSession('heartbeat lost');
    void this.recreateEndpoints();
  }

  private pushStatus(): void {
    if (!this.session?.ackSent) return;
    let snapshot: StatusSnapshotPayload;
    try {
      snapshot = this.opts.getStatusSnapshot();
    } catch (err) {
      this.log.error({ err }, 'status snapshot could not be built');
      return;
    }
    this.send(makeMessage('status_snapshot', snapshot));
  }

  /** Queues any engine → shim message on the event channel; false while no shim is connected. */
  send(message: IpcMessage): boolean {
    const evt = this.session?.evt;
    return evt ? evt.send(message) : false;
  }

  private callback(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'IPC command handler failed');
    }
  }

  private onDrop(lane: Priority): void {
    this.opts.metrics.ipcQueueDroppedTotal.inc({ lane });
    const total = this.session?.evt?.outbox.dropped[lane] ?? 0;
    if (total === 1 || total % 1000 === 0)
      this.log.warn({ lane, dropped: total }, 'IPC queue pressure: dropping');
  }

  /** Ends the session; with `flush` queued messages (a notice) are written before the sockets close. */
  private endSession(reason: string, flush = false): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    for (const conn of [s.cmd, s.evt]) {
      if (!conn) continue;
      if (flush) conn.closeAfterFlush();
      else conn.destroy();
    }
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({
        ok: false,
        error: { code: 'scene_path_down', message: `the shim link closed: ${reason}` },
        latencyMs: this.now() - p.sentAt,
      });
      this.pending.delete(id);
    }
    this.log.info({ reason }, 'IPC session closed');
    this.setReady(false);
  }

  private setReady(ready: boolean): void {
    if (this.isReady === ready) return;
    this.isReady = ready;
    this.log.info({ ipc_ready: ready }, ready ? 'IPC ready' : 'IPC not ready');
    this.emit('ready', ready);
  }
}
