/**
 * SRTLA v2 on the wire. SRT packets pass through unchanged; SRTLA's own packets are told apart by
 * their first 16 bits (0x9000–0x92FF, values SRT never uses). All integers are big-endian.
 */

export const SRTLA_KEEPALIVE = 0x9000;
export const SRTLA_ACK = 0x9100;
export const SRTLA_REG1 = 0x9200;
export const SRTLA_REG2 = 0x9201;
export const SRTLA_REG3 = 0x9202;
export const SRTLA_REG_ERR = 0x9210;
export const SRTLA_REG_NGP = 0x9211;
export const SRTLA_REG_NAK = 0x9212;

export const SRT_HANDSHAKE = 0x8000;
export const SRT_ACK = 0x8002;
export const SRT_NAK = 0x8003;

/** Sender ids and group ids are 256 bytes; the receiver's half is the second 128. */
export const SRTLA_ID_LEN = 256;
/** REG1 and REG2 are only recognised at exactly this length (type + id). */
export const SRTLA_REG_LEN = 2 + SRTLA_ID_LEN;
/** The SRTLA ACK carries this many sequence numbers, no more, no less. */
export const SRTLA_ACK_SEQS = 10;
/** An SRT packet's fixed header; anything shorter is not SRT. */
export const SRT_HEADER_LEN = 16;

/** The first 16 bits, or null for a datagram too short to have them. */
export function packetType(b: Uint8Array): number | null {
  return b.length >= 2 ? ((b[0] as number) << 8) | (b[1] as number) : null;
}

export function isSrtlaType(type: number): boolean {
  return type >= 0x9000 && type <= 0x92ff;
}

/** The sequence number of an SRT data packet (bit 31 clear), null for anything else. */
export function srtDataSeq(b: Uint8Array): number | null {
  if (b.length < SRT_HEADER_LEN || ((b[0] as number) & 0x80) !== 0) return null;
  return readU32(b, 0) & 0x7fffffff;
}

/** The R flag of a data packet's second word: the packet is a retransmission. */
export function srtIsRetransmit(b: Uint8Array): boolean {
  return b.length >= SRT_HEADER_LEN && ((b[4] as number) & 0x04) !== 0;
}

/**
 * The sequence numbers an SRT NAK lists from byte 16: a word with bit 31 set opens a range that
 * the next word closes (inclusive). A range is returned as its two ends so a huge loss costs
 * nothing to count.
 */
export function srtNakLosses(b: Uint8Array): { first: number; last: number }[] {
  const out: { first: number; last: number }[] = [];
  for (let off = SRT_HEADER_LEN; off + 4 <= b.length; off += 4) {
    const w = readU32(b, off);
    if ((w & 0x80000000) !== 0 && off + 8 <= b.length) {
      out.push({ first: w & 0x7fffffff, last: readU32(b, off + 4) & 0x7fffffff });
      off += 4;
    } else out.push({ first: w & 0x7fffffff, last: w & 0x7fffffff });
  }
  return out;
}

export function readU32(b: Uint8Array, off: number): number {
  return (
    (((b[off] as number) << 24) >>> 0) +
    ((b[off + 1] as number) << 16) +
    ((b[off + 2] as number) << 8) +
    (b[off + 3] as number)
  );
}

/** A bare 2-byte SRTLA control packet (REG3, REG_ERR, REG_NGP). */
export function srtlaBare(type: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(type, 0);
  return b;
}

export function srtlaReg2(groupId: Uint8Array): Buffer {
  const b = Buffer.alloc(SRTLA_REG_LEN);
  b.writeUInt16BE(SRTLA_REG2, 0);
  b.set(groupId, 2);
  return b;
}

/** The SRTLA ACK: type, 2 zero bytes, then the sequence numbers in arrival order. */
export function srtlaAck(seqs: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * seqs.length);
  b.writeUInt16BE(SRTLA_ACK, 0);
  for (const [i, s] of seqs.entries()) b.writeUInt32BE(s >>> 0, 4 + 4 * i);
  return b;
}
