import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, type FrameResult } from './frame.js';
import type { IpcMessage, Priority } from './messages.js';
import { type OutboxEntry, PriorityOutbox } from './outbox.js';

export const IPC_READ_TIMEOUT_MS = 500;
export const IPC_WRITE_TIMEOUT_MS = 500;

export interface FramedSocketOptions {
  now?: () => number;
  /** A frame that started arriving must complete within this; else the connection is reset. */
  readTimeoutMs?: number;
  /** A write the kernel does not accept within this counts as a timeout. */
  writeTimeoutMs?: number;
  lowNormalCapacity?: number;
  onDrop?: (lane: Priority, message: IpcMessage) => void;
}

type FramedSocketEvents = {
  message: [IpcMessage];
  'protocol-error': [Extract<FrameResult, { ok: false }>];
  timeout: ['read' | 'write'];
  'critical-overdue': [OutboxEntry];
  close: [];
};

/**
 * One IPC connection: frames in through a FrameDecoder, frames out through a PriorityOutbox.
 * Messages go straight to the socket while it accepts them; once the socket pushes back they wait in
 * the lanes, so a critical message overtakes everything not yet handed to the kernel.
 */
export class FramedSocket extends EventEmitter<FramedSocketEvents> {
  readonly outbox: PriorityOutbox;
  private readonly decoder = new FrameDecoder();
  private readonly now: () => number;
  private readonly readTimeoutMs: number;
  private readonly writeTimeoutMs: number;
  private readTimer: NodeJS.Timeout | null = null;
  private writeTimer: NodeJS.Timeout | null = null;
  private overdueTimer: NodeJS.Timeout | null = null;
  private waitingDrain = false;
  private endWhenFlushed = false;
  private isClosed = false;

  constructor(
    readonly socket: Socket,
    opts: FramedSocketOptions = {},
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.readTimeoutMs = opts.readTimeoutMs ?? IPC_READ_TIMEOUT_MS;
    this.writeTimeoutMs = opts.writeTimeoutMs ?? IPC_WRITE_TIMEOUT_MS;
    this.outbox = new PriorityOutbox({
      now: this.now,
      ...(opts.lowNormalCapacity ? { lowNormalCapacity: opts.lowNormalCapacity } : {}),
      ...(opts.onDrop ? { onDrop: opts.onDrop } : {}),
    });
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.clearTimer('write');
      this.pump();
    });
    // Errors (EPIPE, ECONNRESET) end in 'close'; the owner reacts to that.
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Queues a message; false when the connection is already closed. */
  send(message: IpcMessage): boolean {
    if (this.isClosed || this.endWhenFlushed) return false;
    this.outbox.push(message);
    this.pump();
    if (message.priority === 'critical' && this.outbox.sizeOf('critical') > 0) this.armOverdueCheck();
    return true;
  }

  /** Writes what is queued, then closes (used to deliver a refusal or a notice before hanging up). */
  closeAfterFlush(): void {
    this.endWhenFlushed = true;
    this.pump();
  }

  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  private pump(): void {
    while (!this.isClosed && !this.waitingDrain) {
      const entry = this.outbox.shift();
      if (!entry) break;
      if (entry.deadlineAt !== null && this.now() > entry.deadlineAt) this.emit('critical-overdue', entry);
      let frame: Buffer;
      try {
        frame = encodeFrame(entry.message);
      } catch (err) {
        this.emit('protocol-error', {
          ok: false,
          error: 'frame_too_large',
          detail: `outgoing ${entry.message.type} not sent: ${(err as Error).message}`,
          relatedMessageId: entry.message.id,
        });
        continue;
      }
      if (!this.socket.write(frame)) {
        this.waitingDrain = true;
        this.writeTimer ??= setTimeout(() => {
          this.writeTimer = null;
          if (this.waitingDrain) this.emit('timeout', 'write');
        }, this.writeTimeoutMs);
      }
    }
    if (this.endWhenFlushed && !this.waitingDrain && this.outbox.size === 0 && !this.isClosed) {
      this.socket.end();
    }
  }

  private armOverdueCheck(): void {
    if (this.overdueTimer) return;
    this.overdueTimer = setTimeout(() => {
      this.overdueTimer = null;
      for (const e of this.outbox.takeOverdue()) this.emit('critical-overdue', e);
      if (this.outbox.sizeOf('critical') > 0) this.armOverdueCheck();
    }, 25);
  }

  private onData(chunk: Buffer): void {
    const results = this.decoder.push(chunk);
    // The timer measures one frame's arrival: any completed frame is progress and restarts it.
    if (results.length > 0 || this.decoder.pendingBytes === 0) this.clearTimer('read');
    if (this.decoder.pendingBytes > 0) {
      this.readTimer ??= setTimeout(() => {
        this.readTimer = null;
        if (this.isClosed) return;
        this.emit('timeout', 'read');
        this.emit('protocol-error', {
          ok: false,
          error: 'timeout',
          detail: `a frame stayed incomplete for ${this.readTimeoutMs} ms; connection reset`,
          relatedMessageId: null,
        });
        this.destroy();
      }, this.readTimeoutMs);
    }
    for (const r of results) {
      if (this.isClosed) return;
      if (r.ok) this.emit('message', r.message);
      else this.emit('protocol-error', r);
    }
  }

  private clearTimer(which: 'read' | 'write'): void {
    const t = which === 'read' ? this.readTimer : this.writeTimer;
    if (t) clearTimeout(t);
    if (which === 'read') this.readTimer = null;
    else this.writeTimer = null;
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.clearTimer('read');
    this.clearTimer('write');
    if (this.overdueTimer) clearTimeout(this.overdueTimer);
    this.overdueTimer = null;
    this.decoder.reset();
    this.emit('close');
  }
}
