import { EventEmitter } from 'node:events';
import {
  type BackoffPolicy,
  backoffMs,
  createLogger,
  type Deadline,
  type Logger,
  stallTolerantDeadline,
} from '@telemy/protocol';
import WebSocket from 'ws';
import {
  type HelloMessage,
  type IngestMessage,
  KNOWN_TELEMETRY_TYPES,
  type LinkFailoverMessage,
  type StatsMessage,
  TelemetryMessageSchema,
} from './telemetry-messages.js';

export interface TelemetryDisconnect {
  /** True when the socket had been open; false when a connection attempt failed. */
  wasConnected: boolean;
  /** HTTP status of a refused upgrade (401 = wrong relay_ws_token), else null. */
  status: number | null;
  reason: string;
}

export interface RelayTelemetryEvents {
  connected: [];
  disconnected: [TelemetryDisconnect];
  hello: [HelloMessage];
  stats: [StatsMessage];
  ingest: [IngestMessage];
  link_failover: [LinkFailoverMessage];
}

export interface RelayTelemetryOptions {
  /** The session's `relay.ws_url`. */
  url: string;
  /** The session's `relay_ws_token`, sent as `Authorization: Bearer …`. */
  token: string;
  logger?: Logger;
  reconnect?: BackoffPolicy;
  random?: () => number;
  /** Stats arrive every second: this long without any message means the link is dead. */
  staleAfterMs?: number;
  handshakeTimeoutMs?: number;
}

const DEFAULT_RECONNECT: BackoffPolicy = { baseMs: 250, maxMs: 5_000 };

/**
 * Client of the relay's telemetry WebSocket. Keeps one connection up until
 * `stop()`, reconnecting with capped backoff, and emits each message as a typed event the moment it
 * arrives (an `ingest: stalled` push must reach the state machine without delay).
 */
export class RelayTelemetryClient extends EventEmitter<RelayTelemetryEvents> {
  private readonly opts: RelayTelemetryOptions;
  private readonly log: Logger;
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;
  private ws: WebSocket | null = null;
  private running = false;
  private open = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private staleTimer: Deadline | null = null;

  constructor(opts: RelayTelemetryOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger ?? createLogger('cloudlink.telemetry');
    this.policy = opts.reconnect ?? DEFAULT_RECONNECT;
    this.random = opts.random ?? Math.random;
  }

  get connected(): boolean {
    return this.open;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.clearStale();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
    if (this.open) {
      this.open = false;
      this.emit('disconnected', { wasConnected: true, status: null, reason: 'stopped' });
    }
  }

  private connect(): void {
    let status: number | null = null;
    let lastError = 'connection closed';
    const ws = new WebSocket(this.opts.url, {
      headers: { Authorization: `Bearer ${this.opts.token}` },
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? 5_000,
    });
    this.ws = ws;

    ws.on('open', () => {
      this.open = true;
      this.failures = 0;
      this.log.info({ url: this.opts.url }, 'relay telemetry connected');
      this.armStale(ws);
      this.emit('connected');
    });
    ws.on('message', (data, isBinary) => {
      this.armStale(ws);
      this.handleMessage(isBinary ? null : data.toString());
    });
    ws.on('error', (err) => {
      const m = /Unexpected server response: (\d+)/.exec(err.message);
      if (m) status = Number(m[1]);
      lastError = status === 401 ? 'relay refused the telemetry token (401)' : err.message;
    });
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearStale();
      const wasConnected = this.open;
      this.open = false;
      const reason = wasConnected ? `closed (code ${code})` : lastError;
      this.log.warn({ url: this.opts.url, status, reason }, 'relay telemetry disconnected');
      this.emit('disconnected', { wasConnected, status, reason });
      this.scheduleReconnect();
    });
  }

  private handleMessage(text: string | null): void {
    if (text === null) {
      this.log.warn('relay telemetry sent a binary frame; ignored');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.log.warn({ bytes: text.length }, 'relay telemetry sent a frame that is not JSON; ignored');
      return;
    }
    const type = (json as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && !KNOWN_TELEMETRY_TYPES.has(type)) {
      this.log.debug({ type }, 'relay telemetry message of unknown type ignored');
      return;
    }
    const parsed = TelemetryMessageSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.log.warn(
        { type, field: issue?.path.join('.'), problem: issue?.message },
        'malformed relay telemetry message ignored',
      );
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'hello':
        this.emit('hello', msg);
        break;
      case 'stats':
        this.emit('stats', msg);
        break;
      case 'ingest':
        this.emit('ingest', msg);
        break;
      case 'link_failover':
        this.emit('link_failover', msg);
        break;
    }
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    const delay = backoffMs(this.policy, this.failures, this.random);
    this.failures++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.running) this.connect();
    }, delay);
  }

  private armStale(ws: WebSocket): void {
    this.clearStale();
    const after = this.opts.staleAfterMs ?? 5_000;
    this.staleTimer = stallTolerantDeadline(after, () => {
      this.log.warn({ after_ms: after }, 'relay telemetry silent; reconnecting');
      ws.terminate();
    });
  }

  private clearStale(): void {
    this.staleTimer?.clear();
    this.staleTimer = null;
  }
}
