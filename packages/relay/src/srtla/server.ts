import dgram from 'node:dgram';
import type { Logger } from '@telemy/protocol';
import { type SrtlaAction, type SrtlaGroupStats, SrtlaReceiver, type UdpAddress } from './receiver.js';

export interface SrtlaServerOptions {
  /** Where the SRTLA port listens (the relay's bind host). */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The SRT listener every group is forwarded to. */
  listener: UdpAddress;
  log: Logger;
  now?: () => number;
  receiver?: SrtlaReceiver;
  sweepEveryMs?: number;
}

/**
 * The SRTLA receiver on real sockets: one UDP port for every sender, and per connection group one
 * UDP socket towards the SRT listener, so the listener sees each bonded sender as one SRT peer and
 * its answers can be told apart by the socket they come back on.
 */
export class SrtlaServer {
  private readonly receiver: SrtlaReceiver;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly socket = dgram.createSocket('udp4');
  private readonly groupSockets = new Map<number, dgram.Socket>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: SrtlaServerOptions) {
    this.receiver = opts.receiver ?? new SrtlaReceiver();
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.opts.port, this.opts.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.socket.on('error', (e) => this.log.warn({ err: e.message }, 'SRTLA socket error'));
    this.socket.on('message', (msg, rinfo) => {
      this.apply(this.receiver.fromSender(msg, { address: rinfo.address, port: rinfo.port }, this.now()));
    });
    this.sweepTimer = setInterval(
      () => this.apply(this.receiver.sweep(this.now())),
      this.opts.sweepEveryMs ?? 1_000,
    );
    return this.socket.address().port;
  }

  stats(): SrtlaGroupStats[] {
    return this.receiver.stats(this.now());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const s of this.groupSockets.values()) s.close();
    this.groupSockets.clear();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }

  private apply(actions: SrtlaAction[]): void {
    if (this.closed) return;
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.socket.send(a.bytes, a.to.port, a.to.address);
          break;
        case 'forward':
          this.groupSocket(a.group).send(a.bytes, this.opts.listener.port, this.opts.listener.address);
          break;
        case 'group_freed':
          this.groupSockets.get(a.group)?.close();
          this.groupSockets.delete(a.group);
          this.log.info({ group: a.group }, 'SRTLA group freed: no connection left');
          break;
        case 'group_created':
          this.log.info({ group: a.group, from: `${a.from.address}:${a.from.port}` }, 'SRTLA group created');
          break;
        case 'connection_added':
          this.log.info(
            { group: a.group, connection: `${a.connection.address}:${a.connection.port}` },
            'SRTLA connection registered',
          );
          break;
        case 'connection_removed':
          this.log.info(
            { group: a.group, connection: `${a.connection.address}:${a.connection.port}` },
            'SRTLA connection removed: silent too long',
          );
          break;
      }
    }
  }

  /**
   * Opened on a group's first SRT packet. A send error (the listener restarting) keeps the group:
   * the sender's SRT retransmissions carry on once the listener is back.
   */
  private groupSocket(group: number): dgram.Socket {
    const existing = this.groupSockets.get(group);
    if (existing) return existing;
    const s = dgram.createSocket('udp4');
    const { listener } = this.opts;
    s.on('message', (msg, rinfo) => {
      if (rinfo.port !== listener.port || rinfo.address !== listener.address) return;
      this.apply(this.receiver.fromListener(group, msg, this.now()));
    });
    s.on('error', (e) => this.log.warn({ group, err: e.message }, 'SRTLA group socket error'));
    this.groupSockets.set(group, s);
    return s;
  }
}
