import { EventEmitter } from 'node:events';
import {
  backoffMs,
  connectIpcChannel,
  FramedSocket,
  type FrameResult,
  type HelloAckPayload,
  IPC_CONNECT_TIMEOUT_MS,
  IPC_PROTOCOL_VERSION,
  type IpcMessage,
  ipcEndpoints,
  type Logger,
  makeMessage,
  ProtocolErrorWindow,
} from '@telemy/protocol';

export const SHIM_PING_INTERVAL_MS = 1000;
export const SHIM_STALE_AFTER_MISSED_PINGS = 3;

export interface ShimIpcClientOptions {
  dir: string;
  logger: Logger;
  pluginVersion: string;
  /** Protocol version announced in hello; only compatibility tests change it. */
  protocolVersion?: number;
  obsPid?: () => number | null;
  platform?: NodeJS.Platform;
  now?: () => number;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
  staleAfterMissedPings?: number;
  /** Reconnect backoff: starts here, doubles per failed attempt up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
}

type ShimIpcClientEvents = {
  /** Handshake done (hello_ack received); `reconnect` is true after the first session. */
  connected: [{ ack: HelloAckPayload; reconnect: boolean }];
  disconnected: [string];
  /** Every engine → shim message after the handshake (snapshots, switches, notices, shutdown). */
  message: [IpcMessage];
  /** The engine said something the user must see (refusal, version mismatch). */
  notice: [{ level: 'info' | 'warn' | 'error'; message: string }];
};

interface Link {
  cmd: FramedSocket;
  evt: FramedSocket;
  acked: boolean;
  unansweredPings: number;
  nonce: number;
  pingSentAt: Map<number, number>;
}

/**
 * The shim's end of IPC v1: connects both channels (retrying with backoff), says hello, pings every
 * second, declares the link stale after three unanswered pings and reconnects, and asks for the
 * authoritative status after every (re)connect.
 */
export class ShimIpcClient extends EventEmitter<ShimIpcClientEvents> {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly errors = new ProtocolErrorWindow();
  private link: Link | null = null;
  private running = false;
  private sessions = 0;
  /** Connection attempts that failed since the last session was established. */
  private failedAttempts = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Last measured ping → pong round trip. */
  lastRoundtripMs: number | null = null;

  constructor(private readonly opts: ShimIpcClientOptions) {
    super();
    this.log = opts.logger.child({ component: 'shim-ipc' });
    this.now = opts.now ?? Date.now;
  }

  get connected(): boolean {
    return this.link?.acked ?? false;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.attempt();
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.teardown('shim stopping');
  }

  /** Sends on the command channel; false while no session is up. */
  send(message: IpcMessage): boolean {
    return this.link?.acked ? this.link.cmd.send(message) : false;
  }

  private async attempt(): Promise<void> {
    if (!this.running || this.link) return;
    const ep = ipcEndpoints(this.opts.dir, this.opts.platform ?? process.platform);
    const timeout = this.opts.connectTimeoutMs ?? IPC_CONNECT_TIMEOUT_MS;
    let evtSocket: Awaited<ReturnType<typeof connectIpcChannel>> | null = null;
    try {
      // Event channel first, so the engine can answer hello the moment it arrives.
      evtSocket = await connectIpcChannel(ep.evt, timeout);
      const cmdSocket = await connectIpcChannel(ep.cmd, timeout);
      if (!this.running) {
        evtSocket.destroy();
        cmdSocket.destroy();
        return;
      }
      this.open(this.framed(cmdSocket), this.framed(evtSocket));
    } catch (err) {
      evtSocket?.destroy();
      this.log.debug({ err: (err as Error).message }, 'IPC connect attempt failed');
      this.scheduleRetry();
    }
  }

  private framed(socket: import('node:net').Socket): FramedSocket {
    return new FramedSocket(socket, {
      now: this.now,
      ...(this.opts.readTimeoutMs ? { readTimeoutMs: this.opts.readTimeoutMs } : {}),
      ...(this.opts.writeTimeoutMs ? { writeTimeoutMs: this.opts.writeTimeoutMs } : {}),
    });
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    const wait = backoffMs(
      { baseMs: this.opts.initialBackoffMs ?? 100, maxMs: this.opts.maxBackoffMs ?? 2000 },
      this.failedAttempts++,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt();
    }, wait);
  }

  private open(cmd: FramedSocket, evt: FramedSocket): void {
    const link: Link = { cmd, evt, acked: false, unansweredPings: 0, nonce: 0, pingSentAt: new Map() };
    this.link = link;
    const onClose = (which: string) => () => {
      if (this.link === link) this.teardown(`${which} channel closed by the engine`);
    };
    cmd.on('close', onClose('command'));
    evt.on('close', onClose('event'));
    evt.on('message', (m) => this.onEvent(link, m));
    evt.on('protocol-error', (e) => this.onProtocolError(link, e));
    cmd.on('message', (m) => this.onEvent(link, m));
    cmd.send(
      makeMessage('hello', {
        plugin_version: this.opts.pluginVersion,
        protocol_version: this.opts.protocolVersion ?? IPC_PROTOCOL_VERSION,
        obs_pid: this.opts.obsPid?.() ?? null,
        capabilities: ['scene_switch', 'restart_hint'],
      }),
    );
    const handshakeTimeout = setTimeout(() => {
      if (this.link === link && !link.acked) this.teardown('no hello_ack from the engine');
    }, this.opts.connectTimeoutMs ?? IPC_CONNECT_TIMEOUT_MS);
    cmd.once('close', () => clearTimeout(handshakeTimeout));
    evt.once('message', () => clearTimeout(handshakeTimeout));
  }

  private onEvent(link: Link, m: IpcMessage): void {
    if (this.link !== link) return;
    switch (m.type) {
      case 'hello_ack':
        link.acked = true;
        this.failedAttempts = 0;
        this.sessions += 1;
        this.log.info({ core_version: m.payload.core_version }, 'IPC session established');
        this.startPings(link);
        this.emit('connected', { ack: m.payload, reconnect: this.sessions > 1 });
        link.cmd.send(makeMessage('request_status', {}));
        return;
      case 'pong': {
        link.unansweredPings = 0;
        const sentAt = typeof m.payload.nonce === 'number' ? link.pingSentAt.get(m.payload.nonce) : undefined;
        if (sentAt !== undefined) this.lastRoundtripMs = this.now() - sentAt;
        link.pingSentAt.clear();
        return;
      }
      case 'user_notice':
        this.emit('notice', m.payload);
        if (link.acked) this.emit('message', m);
        return;
      case 'protocol_error':
        this.log.warn(
          { code: m.payload.code, detail: m.payload.message },
          'engine reported a protocol error',
        );
        if (m.payload.code === 'version_mismatch')
          this.emit('notice', { level: 'error', message: m.payload.message });
        return;
      default:
        if (link.acked) this.emit('message', m);
    }
  }

  private startPings(link: Link): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const limit = this.opts.staleAfterMissedPings ?? SHIM_STALE_AFTER_MISSED_PINGS;
    const tick = () => {
      if (this.link !== link) return;
      if (link.unansweredPings >= limit) {
        this.log.warn({ missed: link.unansweredPings }, 'IPC link stale: pings unanswered; reconnecting');
        this.teardown('link stale');
        return;
      }
      link.nonce += 1;
      link.pingSentAt.set(link.nonce, this.now());
      link.unansweredPings += 1;
      link.cmd.send(makeMessage('ping', { nonce: link.nonce }));
    };
    tick();
    this.pingTimer = setInterval(tick, this.opts.pingIntervalMs ?? SHIM_PING_INTERVAL_MS);
  }

  private onProtocolError(link: Link, e: Extract<FrameResult, { ok: false }>): void {
    this.log.warn({ code: e.error, detail: e.detail }, 'IPC protocol error from the engine');
    link.cmd.send(
      makeMessage('protocol_error', {
        code: e.error,
        message: e.detail,
        related_message_id: e.relatedMessageId,
      }),
    );
    if (this.errors.record(this.now())) {
      this.errors.reset();
      this.log.error('more than 5 IPC protocol errors within 10 s: connection reset');
      this.teardown('protocol error storm');
    }
  }

  private teardown(reason: string): void {
    const link = this.link;
    if (!link) return;
    this.link = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    link.cmd.destroy();
    link.evt.destroy();
    this.log.info({ reason }, 'IPC session closed');
    if (link.acked) this.emit('disconnected', reason);
    this.scheduleRetry();
  }
}
