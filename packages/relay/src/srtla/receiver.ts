import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  isSrtlaType,
  packetType,
  SRT_ACK,
  SRT_HEADER_LEN,
  SRT_NAK,
  SRTLA_ACK_SEQS,
  SRTLA_ID_LEN,
  SRTLA_KEEPALIVE,
  SRTLA_REG_ERR,
  SRTLA_REG_LEN,
  SRTLA_REG_NGP,
  SRTLA_REG1,
  SRTLA_REG2,
  SRTLA_REG3,
  srtDataSeq,
  srtIsRetransmit,
  srtlaAck,
  srtlaBare,
  srtlaReg2,
  srtNakLosses,
} from './wire.js';

/**
 * The SRTLA v2 receiver as a pure state machine: datagrams from senders, datagrams from the SRT
 * listener and the passing of time go in (with the time they happened); what to send where comes
 * out. Sockets, timers and logging belong to the adapter (`server.ts`).
 */

export interface UdpAddress {
  address: string;
  port: number;
}

export type SrtlaAction =
  /** A datagram for a sender's connection. */
  | { type: 'send'; to: UdpAddress; bytes: Uint8Array }
  /** A datagram for the SRT listener, on the group's own socket (opened on first use). */
  | { type: 'forward'; group: number; bytes: Uint8Array }
  /** The group is gone: close its socket. */
  | { type: 'group_freed'; group: number; reason: 'no_connections' }
  | { type: 'group_created'; group: number; from: UdpAddress }
  | { type: 'connection_added'; group: number; connection: UdpAddress }
  | { type: 'connection_removed'; group: number; connection: UdpAddress; reason: 'timed_out' };

export interface SrtlaLimits {
  maxGroups: number;
  maxConnectionsPerGroup: number;
  /** A connection that sent nothing for longer than this is removed. */
  connectionTimeoutMs: number;
  /** A group without connections is freed once it is older than this. */
  groupTimeoutMs: number;
  /** Width of the sliding window behind bitrates and packet shares. */
  rateWindowMs: number;
}

export const SRTLA_DEFAULT_LIMITS: SrtlaLimits = {
  maxGroups: 200,
  maxConnectionsPerGroup: 8,
  connectionTimeoutMs: 10_000,
  groupTimeoutMs: 10_000,
  rateWindowMs: 5_000,
};

/** What each connection counts, kept as plain fields (the per-datagram path adds to them). */
const COUNTERS = [
  'datagrams',
  'bytes',
  'dataPackets',
  'controlPackets',
  'keepalives',
  'retransmits',
  'srtlaAcksSent',
  'srtAcksRouted',
  'naksRouted',
  'otherRouted',
] as const;

export type SrtlaConnectionCounters = Record<(typeof COUNTERS)[number], number>;

/** The counters of `from` (all zero without it). */
function countersOf(from?: SrtlaConnectionCounters): SrtlaConnectionCounters {
  return Object.fromEntries(COUNTERS.map((k) => [k, from?.[k] ?? 0])) as SrtlaConnectionCounters;
}

export interface SrtlaConnectionStats extends SrtlaConnectionCounters {
  /** Stable for the life of the receiver: connections are never renumbered. */
  id: number;
  address: UdpAddress;
  registeredAt: number;
  lastPacketAt: number;
  lastDataAt: number | null;
  /** Data bytes over the rate window, in kbit/s. */
  bitrateKbps: number;
  /** This connection's part of the group's data packets over the rate window, 0–1. */
  share: number;
}

export interface SrtlaGroupStats {
  group: number;
  createdAt: number;
  lastActive: UdpAddress | null;
  toListenerDatagrams: number;
  fromListenerDatagrams: number;
  naks: number;
  /** Sequence numbers the listener's NAKs listed (ranges counted in full). */
  nakedPackets: number;
  connections: SrtlaConnectionStats[];
}

/** Counts per time bucket, summed over the last few buckets: a cheap sliding window. */
class Window {
  private readonly bucketMs: number;
  private readonly counts: number[];
  private head = 0;
  private headStart = 0;

  constructor(windowMs: number, buckets = 10) {
    this.bucketMs = Math.max(1, Math.floor(windowMs / buckets));
    this.counts = new Array<number>(buckets).fill(0);
  }

  add(n: number, now: number): void {
    this.advance(now);
    this.counts[this.head] = (this.counts[this.head] as number) + n;
  }

  sum(now: number): number {
    this.advance(now);
    return this.counts.reduce((a, b) => a + b, 0);
  }

  get spanMs(): number {
    return this.bucketMs * this.counts.length;
  }

  private advance(now: number): void {
    const steps = Math.floor((now - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, this.counts.length); i++) {
      this.head = (this.head + 1) % this.counts.length;
      this.counts[this.head] = 0;
    }
    this.headStart += steps * this.bucketMs;
  }
}

interface Connection extends SrtlaConnectionCounters {
  id: number;
  key: string;
  address: UdpAddress;
  registeredAt: number;
  lastPacketAt: number;
  lastDataAt: number | null;
  /** Data sequence numbers waiting for the next SRTLA ACK. */
  pendingAcks: number[];
  dataBytesWindow: Window;
  dataPacketsWindow: Window;
}

interface Group {
  handle: number;
  id: Buffer;
  createdAt: number;
  connections: Map<string, Connection>;
  lastActive: UdpAddress | null;
  toListenerDatagrams: number;
  fromListenerDatagrams: number;
  naks: number;
  nakedPackets: number;
  dataPacketsWindow: Window;
}

const keyOf = (a: UdpAddress): string => `${a.address}:${a.port}`;

function latestOf(g: Group): UdpAddress | null {
  let best: Connection | null = null;
  for (const c of g.connections.values()) if (!best || c.lastPacketAt > best.lastPacketAt) best = c;
  return best ? best.address : null;
}

export interface SrtlaReceiverOptions {
  limits?: Partial<SrtlaLimits>;
  /** Source of the receiver's half of each group id (injected so tests are deterministic). */
  random?: (bytes: number) => Uint8Array;
}

export class SrtlaReceiver {
  private readonly limits: SrtlaLimits;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly groups = new Map<number, Group>();
  /** Registered connections by "ip:port", for the per-datagram lookup. */
  private readonly byAddress = new Map<string, { group: Group; conn: Connection }>();
  private nextGroup = 1;
  private nextConnection = 1;

  constructor(opts: SrtlaReceiverOptions = {}) {
    this.limits = { ...SRTLA_DEFAULT_LIMITS, ...opts.limits };
    this.random = opts.random ?? ((n) => randomBytes(n));
  }

  /** A datagram from a sender arrived on the SRTLA port. */
  fromSender(bytes: Uint8Array, from: UdpAddress, now: number): SrtlaAction[] {
    const type = packetType(bytes);
    if (bytes.length === SRTLA_REG_LEN && type === SRTLA_REG1) return this.reg1(bytes, from, now);
    if (bytes.length === SRTLA_REG_LEN && type === SRTLA_REG2) return this.reg2(bytes, from, now);

    const found = this.byAddress.get(keyOf(from));
    // Unregistered addresses get nothing: not even an error, which senders would take as life.
    if (!found || type === null) return [];
    const { group, conn } = found;
    conn.lastPacketAt = now;
    conn.datagrams += 1;
    conn.bytes += bytes.length;

    if (type === SRTLA_KEEPALIVE) {
      conn.keepalives += 1;
      return [{ type: 'send', to: conn.address, bytes: Uint8Array.from(bytes) }];
    }
    if (isSrtlaType(type) || bytes.length < SRT_HEADER_LEN) return [];

    group.lastActive = conn.address;
    group.toListenerDatagrams += 1;
    const actions: SrtlaAction[] = [];
    const seq = srtDataSeq(bytes);
    if (seq === null) conn.controlPackets += 1;
    else {
      conn.dataPackets += 1;
      conn.lastDataAt = now;
      conn.dataBytesWindow.add(bytes.length, now);
      conn.dataPacketsWindow.add(1, now);
      group.dataPacketsWindow.add(1, now);
      if (srtIsRetransmit(bytes)) conn.retransmits += 1;
      conn.pendingAcks.push(seq);
      if (conn.pendingAcks.length >= SRTLA_ACK_SEQS) {
        actions.push({ type: 'send', to: conn.address, bytes: srtlaAck(conn.pendingAcks) });
        conn.pendingAcks = [];
        conn.srtlaAcksSent += 1;
      }
    }
    actions.push({ type: 'forward', group: group.handle, bytes });
    return actions;
  }

  /**
   * A datagram from the SRT listener on a group's socket. SRT ACKs go to every connection (each
   * link's sender clears its in-flight count from them); everything else goes to the connection
   * that spoke last, which is the one most likely still alive.
   */
  fromListener(group: number, bytes: Uint8Array, _now: number): SrtlaAction[] {
    const g = this.groups.get(group);
    if (!g) return [];
    g.fromListenerDatagrams += 1;
    const type = packetType(bytes);
    if (type === SRT_ACK) {
      const out: SrtlaAction[] = [];
      for (const c of g.connections.values()) {
        c.srtAcksRouted += 1;
        out.push({ type: 'send', to: c.address, bytes });
      }
      return out;
    }
    if (type === SRT_NAK) {
      g.naks += 1;
      for (const r of srtNakLosses(bytes)) g.nakedPackets += ((r.last - r.first) >>> 0) + 1;
    }
    if (!g.lastActive) return [];
    const conn = g.connections.get(keyOf(g.lastActive));
    if (conn) {
      if (type === SRT_NAK) conn.naksRouted += 1;
      else conn.otherRouted += 1;
    }
    return [{ type: 'send', to: g.lastActive, bytes }];
  }

  /** Removes silent connections and frees groups left without any; call about once a second. */
  sweep(now: number): SrtlaAction[] {
    const out: SrtlaAction[] = [];
    for (const g of [...this.groups.values()]) {
      for (const c of [...g.connections.values()]) {
        if (now - c.lastPacketAt <= this.limits.connectionTimeoutMs) continue;
        g.connections.delete(c.key);
        this.byAddress.delete(c.key);
        // Answers must not keep going to a dead link while live ones remain.
        if (g.lastActive !== null && keyOf(g.lastActive) === c.key) g.lastActive = latestOf(g);
        out.push({
          type: 'connection_removed',
          group: g.handle,
          connection: c.address,
          reason: 'timed_out',
        });
      }
      if (g.connections.size === 0 && now - g.createdAt > this.limits.groupTimeoutMs) {
        this.groups.delete(g.handle);
        out.push({ type: 'group_freed', group: g.handle, reason: 'no_connections' });
      }
    }
    return out;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  stats(now: number): SrtlaGroupStats[] {
    return [...this.groups.values()].map((g) => {
      const groupPackets = g.dataPacketsWindow.sum(now);
      return {
        group: g.handle,
        createdAt: g.createdAt,
        lastActive: g.lastActive ? { ...g.lastActive } : null,
        toListenerDatagrams: g.toListenerDatagrams,
        fromListenerDatagrams: g.fromListenerDatagrams,
        naks: g.naks,
        nakedPackets: g.nakedPackets,
        connections: [...g.connections.values()].map((c) => ({
          id: c.id,
          address: { ...c.address },
          registeredAt: c.registeredAt,
          lastPacketAt: c.lastPacketAt,
          lastDataAt: c.lastDataAt,
          ...countersOf(c),
          bitrateKbps: (c.dataBytesWindow.sum(now) * 8) / c.dataBytesWindow.spanMs,
          share: groupPackets === 0 ? 0 : c.dataPacketsWindow.sum(now) / groupPackets,
        })),
      };
    });
  }

  /** The address is taken when it is a connection or the last-active address of some group. */
  private addressTaken(from: UdpAddress, except: Group | null): boolean {
    const k = keyOf(from);
    for (const g of this.groups.values()) {
      if (g === except) continue;
      if (g.connections.has(k) || (g.lastActive !== null && keyOf(g.lastActive) === k)) return true;
    }
    return false;
  }

  private reg1(bytes: Uint8Array, from: UdpAddress, now: number): SrtlaAction[] {
    if (this.groups.size >= this.limits.maxGroups || this.addressTaken(from, null)) {
      return [{ type: 'send', to: from, bytes: srtlaBare(SRTLA_REG_ERR) }];
    }
    const half = SRTLA_ID_LEN / 2;
    let id: Buffer;
    do {
      id = Buffer.alloc(SRTLA_ID_LEN);
      id.set(bytes.subarray(2, 2 + half), 0);
      id.set(this.random(half).subarray(0, half), half);
    } while (this.findGroup(id));
    const group: Group = {
      handle: this.nextGroup++,
      id,
      createdAt: now,
      connections: new Map(),
      lastActive: { ...from },
      toListenerDatagrams: 0,
      fromListenerDatagrams: 0,
      naks: 0,
      nakedPackets: 0,
      dataPacketsWindow: new Window(this.limits.rateWindowMs),
    };
    this.groups.set(group.handle, group);
    return [
      { type: 'group_created', group: group.handle, from: { ...from } },
      { type: 'send', to: from, bytes: srtlaReg2(id) },
    ];
  }

  private reg2(bytes: Uint8Array, from: UdpAddress, now: number): SrtlaAction[] {
    const group = this.findGroup(bytes.subarray(2));
    // A sender's first REG2s carry its own random id: REG_NGP is how it learns to send REG1.
    if (!group) return [{ type: 'send', to: from, bytes: srtlaBare(SRTLA_REG_NGP) }];
    if (this.addressTaken(from, group)) {
      return [{ type: 'send', to: from, bytes: srtlaBare(SRTLA_REG_ERR) }];
    }
    const k = keyOf(from);
    const existing = group.connections.get(k);
    if (existing) {
      // Senders repeat REG2 on links they believe dead: answering again revives them.
      existing.lastPacketAt = now;
      return [{ type: 'send', to: from, bytes: srtlaBare(SRTLA_REG3) }];
    }
    if (group.connections.size >= this.limits.maxConnectionsPerGroup) {
      return [{ type: 'send', to: from, bytes: srtlaBare(SRTLA_REG_ERR) }];
    }
    const conn: Connection = {
      id: this.nextConnection++,
      key: k,
      address: { ...from },
      registeredAt: now,
      lastPacketAt: now,
      lastDataAt: null,
      pendingAcks: [],
      ...countersOf(),
      dataBytesWindow: new Window(this.limits.rateWindowMs),
      dataPacketsWindow: new Window(this.limits.rateWindowMs),
    };
    group.connections.set(k, conn);
    this.byAddress.set(k, { group, conn });
    group.lastActive = conn.address;
    return [
      { type: 'connection_added', group: group.handle, connection: { ...from } },
      { type: 'send', to: from, bytes: srtlaBare(SRTLA_REG3) },
    ];
  }

  /** Every group is compared, each in constant time, so timing says nothing about the ids. */
  private findGroup(id: Uint8Array): Group | null {
    let found: Group | null = null;
    for (const g of this.groups.values()) {
      if (id.length === SRTLA_ID_LEN && timingSafeEqual(g.id, id) && !found) found = g;
    }
    return found;
  }
}
