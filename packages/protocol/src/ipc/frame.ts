import { Packr, Unpackr } from 'msgpackr';
import { decodeMessage, type IpcMessage, type ProtocolErrorCode } from './messages.js';

/** Frame = 4-byte little-endian payload length, then that many bytes of MessagePack. */

export const FRAME_HEADER_BYTES = 4;
export const MAX_FRAME_PAYLOAD_BYTES = 64 * 1024;

// Plain maps only (no msgpackr record extension) so a native peer with any MessagePack library can read us.
const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export class FrameTooLargeError extends Error {
  readonly code = 'frame_too_large';
  constructor(readonly size: number) {
    super(`frame payload of ${size} bytes exceeds the ${MAX_FRAME_PAYLOAD_BYTES}-byte limit`);
  }
}

/** Encodes one message as a frame. Throws FrameTooLargeError when the payload would exceed the cap. */
export function encodeFrame(message: unknown): Buffer {
  const body = packr.pack(message);
  if (body.length > MAX_FRAME_PAYLOAD_BYTES) throw new FrameTooLargeError(body.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export type FrameResult =
  | { ok: true; message: IpcMessage }
  | { ok: false; error: ProtocolErrorCode; detail: string; relatedMessageId: string | null };

/**
 * Streaming decoder: feed it socket chunks of any size, get one result per frame. It never throws.
 * An oversized frame yields `frame_too_large` as soon as its header is seen; its payload is then
 * skipped as it streams in (never buffered), and decoding resumes at the next header.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private skipRemaining = 0;

  /** Bytes held for a frame that has not fully arrived (0 when the stream sits on a frame boundary). */
  get pendingBytes(): number {
    return this.buf.length + this.skipRemaining;
  }

  push(chunk: Uint8Array): FrameResult[] {
    const results: FrameResult[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.skipRemaining > 0) {
      const skipped = Math.min(this.skipRemaining, data.length);
      this.skipRemaining -= skipped;
      data = data.subarray(skipped);
    }
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    let offset = 0;
    while (this.buf.length - offset >= FRAME_HEADER_BYTES) {
      const length = this.buf.readUInt32LE(offset);
      if (length > MAX_FRAME_PAYLOAD_BYTES) {
        results.push({
          ok: false,
          error: 'frame_too_large',
          detail: `frame of ${length} bytes exceeds the ${MAX_FRAME_PAYLOAD_BYTES}-byte limit; skipped`,
          relatedMessageId: null,
        });
        const available = this.buf.length - offset - FRAME_HEADER_BYTES;
        const skipped = Math.min(length, available);
        offset += FRAME_HEADER_BYTES + skipped;
        this.skipRemaining = length - skipped;
        continue;
      }
      if (this.buf.length - offset - FRAME_HEADER_BYTES < length) break;
      const body = this.buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
      offset += FRAME_HEADER_BYTES + length;
      results.push(decodeBody(body));
    }
    // Copy the tail so a retained partial frame does not pin the whole (possibly large) chunk.
    this.buf = offset === 0 ? this.buf : Buffer.from(this.buf.subarray(offset));
    return results;
  }

  /** Drops any partial frame (after a connection reset). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.skipRemaining = 0;
  }
}

function decodeBody(body: Buffer): FrameResult {
  let raw: unknown;
  try {
    raw = unpackr.unpack(body);
  } catch (err) {
    return {
      ok: false,
      error: 'decode_failed',
      detail: `not valid MessagePack: ${(err as Error).message.slice(0, 120)}`,
      relatedMessageId: null,
    };
  }
  return decodeMessage(raw);
}
