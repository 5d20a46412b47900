import { describe, expect, it } from 'vitest';
import { type SrtlaAction, SrtlaReceiver, type UdpAddress } from '../src/srtla/receiver.js';

/*
 * Packet sequences as a bonding sender puts them on the wire, built here byte by byte (big-endian)
 * so the receiver is checked against the format, not against its own encoders.
 */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SENDER_ID = Buffer.alloc(256, 0xa5);
const OTHER_SENDER_ID = Buffer.alloc(256, 0x3c);
const RECEIVER_HALF = Buffer.alloc(128, 0x77);

const reg1 = (id: Buffer): Buffer => Buffer.concat([hex('9200'), id]);
const reg2 = (id: Buffer): Buffer => Buffer.concat([hex('9201'), id]);
const REG3 = hex('9202');
const REG_ERR = hex('9210');
const REG_NGP = hex('9211');
const KEEPALIVE = hex('9000');

/** An SRT data packet: word 0 = sequence number (bit 31 clear), word 1 = flags, then payload. */
function data(seq: number, retransmit = false): Buffer {
  const b = Buffer.alloc(16 + 100, 0x47);
  b.writeUInt32BE(seq, 0);
  b.writeUInt32BE((0xc0000001 | (retransmit ? 0x04000000 : 0)) >>> 0, 4);
  b.writeUInt32BE(1234, 8);
  b.writeUInt32BE(0x1111, 12);
  return b;
}
/** SRT control packets as the listener sends them back: ACK (0x8002) and NAK (0x8003). */
const srtAck = hex('80020000 00000001 00000000 00002222 0000000a');
const srtNak = hex('80030000 00000000 00000000 00002222 00000005 80000010 00000013');
const srtHandshake = Buffer.concat([hex('80000000 00000000 00000000 00000000'), Buffer.alloc(48)]);

const A: UdpAddress = { address: '10.0.0.1', port: 40001 };
const B: UdpAddress = { address: '10.0.0.2', port: 40002 };
const C: UdpAddress = { address: '10.0.0.3', port: 40003 };
const STRANGER: UdpAddress = { address: '10.9.9.9', port: 50000 };

function receiver(limits = {}): SrtlaReceiver {
  return new SrtlaReceiver({ random: (n) => RECEIVER_HALF.subarray(0, n), limits });
}

const sends = (actions: SrtlaAction[]) =>
  actions.flatMap((a) => (a.type === 'send' ? [{ to: a.to, bytes: Buffer.from(a.bytes) }] : []));
const forwards = (actions: SrtlaAction[]) =>
  actions.flatMap((a) => (a.type === 'forward' ? [{ group: a.group, bytes: Buffer.from(a.bytes) }] : []));

/** The group id the receiver is expected to build: the sender's first half, then its own. */
const groupIdOf = (id: Buffer): Buffer => Buffer.concat([id.subarray(0, 128), RECEIVER_HALF]);

/** Runs the sender's usual start on the given links and returns the group handle. */
function register(r: SrtlaReceiver, id: Buffer, links: UdpAddress[], now = 0): number {
  const first = links[0] as UdpAddress;
  const created = r.fromSender(reg1(id), first, now);
  const group = created.find((a) => a.type === 'group_created');
  if (group?.type !== 'group_created') throw new Error('no group');
  for (const l of links) r.fromSender(reg2(groupIdOf(id)), l, now);
  return group.group;
}

describe('SrtlaReceiver registration', () => {
  it('runs the sender start: REG2 with its own id → REG_NGP, REG1 → REG2, REG2 per link → REG3', () => {
    const r = receiver();
    expect(sends(r.fromSender(reg2(SENDER_ID), A, 0))).toEqual([{ to: A, bytes: REG_NGP }]);

    const answer = r.fromSender(reg1(SENDER_ID), A, 100);
    expect(sends(answer)).toEqual([{ to: A, bytes: reg2(groupIdOf(SENDER_ID)) }]);
    expect(answer[0]).toMatchObject({ type: 'group_created', from: A });

    expect(sends(r.fromSender(reg2(groupIdOf(SENDER_ID)), A, 200))).toEqual([{ to: A, bytes: REG3 }]);
    expect(sends(r.fromSender(reg2(groupIdOf(SENDER_ID)), B, 200))).toEqual([{ to: B, bytes: REG3 }]);
    const [g] = r.stats(300);
    expect(g?.connections.map((c) => c.address)).toEqual([A, B]);
    expect(g?.lastActive).toEqual(B);
  });

  it('answers a repeated REG2 on a registered link with REG3 again, without a second connection', () => {
    const r = receiver();
    register(r, SENDER_ID, [A]);
    expect(sends(r.fromSender(reg2(groupIdOf(SENDER_ID)), A, 1_000))).toEqual([{ to: A, bytes: REG3 }]);
    expect(r.stats(1_000)[0]?.connections).toHaveLength(1);
  });

  it('answers REG_NGP to a REG2 whose id differs from the group in one byte', () => {
    const r = receiver();
    register(r, SENDER_ID, [A]);
    const forged = groupIdOf(SENDER_ID);
    forged[255] = (forged[255] as number) ^ 1;
    expect(sends(r.fromSender(reg2(forged), B, 10))).toEqual([{ to: B, bytes: REG_NGP }]);
    expect(r.stats(10)[0]?.connections).toHaveLength(1);
  });

  it('answers REG_ERR to a REG1 from an address already in a group (a repeated REG1 included)', () => {
    const r = receiver();
    r.fromSender(reg1(SENDER_ID), A, 0);
    expect(sends(r.fromSender(reg1(SENDER_ID), A, 1_000))).toEqual([{ to: A, bytes: REG_ERR }]);
    register(r, OTHER_SENDER_ID, [B]);
    expect(sends(r.fromSender(reg1(OTHER_SENDER_ID), B, 1_000))).toEqual([{ to: B, bytes: REG_ERR }]);
    expect(r.groupCount).toBe(2);
  });

  it('refuses with REG_ERR a link of another group and a ninth connection', () => {
    const r = receiver();
    register(r, SENDER_ID, [A]);
    register(r, OTHER_SENDER_ID, [B]);
    expect(sends(r.fromSender(reg2(groupIdOf(SENDER_ID)), B, 5))).toEqual([{ to: B, bytes: REG_ERR }]);

    const links = Array.from({ length: 8 }, (_, i) => ({ address: '10.1.0.1', port: 1000 + i }));
    const r2 = receiver();
    register(r2, SENDER_ID, links);
    const ninth = { address: '10.1.0.1', port: 2000 };
    expect(sends(r2.fromSender(reg2(groupIdOf(SENDER_ID)), ninth, 5))).toEqual([
      { to: ninth, bytes: REG_ERR },
    ]);
  });

  it('refuses a new group with REG_ERR once the group limit is reached', () => {
    const r = receiver({ maxGroups: 2 });
    r.fromSender(reg1(SENDER_ID), A, 0);
    r.fromSender(reg1(OTHER_SENDER_ID), B, 0);
    expect(sends(r.fromSender(reg1(Buffer.alloc(256, 1)), C, 0))).toEqual([{ to: C, bytes: REG_ERR }]);
  });

  it('only takes REG1/REG2 at exactly 258 bytes', () => {
    const r = receiver();
    expect(r.fromSender(reg1(SENDER_ID).subarray(0, 257), A, 0)).toEqual([]);
    expect(r.groupCount).toBe(0);
  });
});

describe('SrtlaReceiver traffic', () => {
  it('drops every datagram from an unregistered address without an answer', () => {
    const r = receiver();
    register(r, SENDER_ID, [A]);
    expect(r.fromSender(data(1), STRANGER, 0)).toEqual([]);
    expect(r.fromSender(KEEPALIVE, STRANGER, 0)).toEqual([]);
  });

  it('echoes keepalives byte for byte, whatever their length, and does not forward them', () => {
    const r = receiver();
    register(r, SENDER_ID, [A]);
    const echo = r.fromSender(KEEPALIVE, A, 10);
    expect(sends(echo)).toEqual([{ to: A, bytes: KEEPALIVE }]);
    expect(echo).toHaveLength(1);
    const long = hex('9000 0102030405');
    expect(sends(r.fromSender(long, A, 20))).toEqual([{ to: A, bytes: long }]);
    expect(r.stats(20)[0]?.connections[0]?.keepalives).toBe(2);
  });

  it('forwards SRT packets unchanged and sends one SRTLA ACK per 10 data packets, on that link', () => {
    const r = receiver();
    const g = register(r, SENDER_ID, [A, B]);
    const all: SrtlaAction[] = [];
    for (let seq = 100; seq < 120; seq++) all.push(...r.fromSender(data(seq), A, seq));
    all.push(...r.fromSender(data(120), B, 121));
    expect(forwards(all)).toHaveLength(21);
    expect(forwards(all)[0]).toEqual({ group: g, bytes: data(100) });
    const expectedAck = (first: number) =>
      Buffer.concat([
        hex('91000000'),
        ...Array.from({ length: 10 }, (_, i) => {
          const w = Buffer.alloc(4);
          w.writeUInt32BE(first + i);
          return w;
        }),
      ]);
    expect(sends(all)).toEqual([
      { to: A, bytes: expectedAck(100) },
      { to: A, bytes: expectedAck(110) },
    ]);
    expect(sends(all)[0]?.bytes).toHaveLength(44);
  });

  it('counts retransmissions but still acknowledges and forwards them', () => {
    const r = receiver();
    register(r, SENDER_ID, [A]);
    const out = r.fromSender(data(7, true), A, 0);
    expect(forwards(out)).toHaveLength(1);
    expect(r.stats(0)[0]?.connections[0]?.retransmits).toBe(1);
  });

  it('routes SRT ACKs to every link and NAKs and other answers to the link that spoke last', () => {
    const r = receiver();
    const g = register(r, SENDER_ID, [A, B, C]);
    r.fromSender(data(1), A, 10);
    r.fromSender(data(2), C, 11);
    r.fromSender(srtHandshake, B, 12);

    expect(sends(r.fromListener(g, srtAck, 20))).toEqual([
      { to: A, bytes: srtAck },
      { to: B, bytes: srtAck },
      { to: C, bytes: srtAck },
    ]);
    expect(sends(r.fromListener(g, srtNak, 21))).toEqual([{ to: B, bytes: srtNak }]);
    r.fromSender(data(3), C, 22);
    expect(sends(r.fromListener(g, srtHandshake, 23))).toEqual([{ to: C, bytes: srtHandshake }]);

    const [stats] = r.stats(30);
    expect(stats?.naks).toBe(1);
    // One single loss (5) and the range 16..19.
    expect(stats?.nakedPackets).toBe(5);
    expect(stats?.connections.map((c) => [c.srtAcksRouted, c.naksRouted, c.otherRouted])).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [1, 0, 1],
    ]);
  });

  it('keeps two senders apart: each group forwards on its own handle and hears only its answers', () => {
    const r = receiver();
    const g1 = register(r, SENDER_ID, [A, B]);
    const g2 = register(r, OTHER_SENDER_ID, [C]);
    expect(g1).not.toBe(g2);
    expect(forwards(r.fromSender(data(1), B, 5))).toEqual([{ group: g1, bytes: data(1) }]);
    expect(forwards(r.fromSender(data(9), C, 5))).toEqual([{ group: g2, bytes: data(9) }]);
    expect(sends(r.fromListener(g2, srtAck, 6)).map((s) => s.to)).toEqual([C]);
    expect(sends(r.fromListener(g1, srtAck, 6)).map((s) => s.to)).toEqual([A, B]);
  });

  it('reports per-link bitrate and share of data packets over the window', () => {
    const r = receiver({ rateWindowMs: 1_000 });
    register(r, SENDER_ID, [A, B]);
    for (let i = 0; i < 30; i++) r.fromSender(data(i), A, 100 + i);
    for (let i = 30; i < 40; i++) r.fromSender(data(i), B, 100 + i);
    const conns = r.stats(500)[0]?.connections ?? [];
    expect(conns.map((c) => c.share)).toEqual([0.75, 0.25]);
    // 30 packets of 116 bytes in a 1 s window.
    expect(conns[0]?.bitrateKbps).toBeCloseTo((30 * 116 * 8) / 1000);
    expect(r.stats(5_000)[0]?.connections.map((c) => c.share)).toEqual([0, 0]);
  });
});

describe('SrtlaReceiver timeouts', () => {
  it('removes a link silent for more than 10 s; its address must register again', () => {
    const r = receiver();
    const g = register(r, SENDER_ID, [A, B]);
    r.fromSender(KEEPALIVE, A, 9_000);
    expect(r.sweep(10_000)).toEqual([]);
    expect(r.sweep(10_001)).toEqual([
      { type: 'connection_removed', group: g, connection: B, reason: 'timed_out' },
    ]);
    expect(r.fromSender(data(1), B, 10_002)).toEqual([]);
    expect(sends(r.fromSender(reg2(groupIdOf(SENDER_ID)), B, 10_003))).toEqual([{ to: B, bytes: REG3 }]);
  });

  it('moves the answers of a removed last-active link to a live one', () => {
    const r = receiver();
    const g = register(r, SENDER_ID, [A, B]);
    r.fromSender(data(1), A, 5_000);
    r.fromSender(data(2), B, 6_000);
    for (let t = 7_000; t <= 16_000; t += 1_000) r.fromSender(KEEPALIVE, A, t);
    r.sweep(16_500);
    expect(sends(r.fromListener(g, srtNak, 16_600))).toEqual([{ to: A, bytes: srtNak }]);
  });

  it('frees a group that lost every link, in the same sweep', () => {
    const r = receiver();
    const g = register(r, SENDER_ID, [A, B]);
    r.fromSender(data(1), A, 3_000);
    expect(r.sweep(13_001)).toEqual([
      { type: 'connection_removed', group: g, connection: A, reason: 'timed_out' },
      { type: 'connection_removed', group: g, connection: B, reason: 'timed_out' },
      { type: 'group_freed', group: g, reason: 'no_connections' },
    ]);
    expect(r.groupCount).toBe(0);
    expect(sends(r.fromSender(reg2(groupIdOf(SENDER_ID)), A, 13_002))).toEqual([{ to: A, bytes: REG_NGP }]);
    expect(r.fromListener(g, srtAck, 13_003)).toEqual([]);
  });

  it('frees a group whose REG1 was never followed by a REG2, and releases its address', () => {
    const r = receiver();
    r.fromSender(reg1(SENDER_ID), A, 0);
    expect(r.sweep(10_000)).toEqual([]);
    expect(r.sweep(10_001)).toEqual([{ type: 'group_freed', group: 1, reason: 'no_connections' }]);
    expect(sends(r.fromSender(reg1(SENDER_ID), A, 10_002))).toEqual([
      { to: A, bytes: reg2(groupIdOf(SENDER_ID)) },
    ]);
  });
});
