import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  type FrameResult,
  MAX_FRAME_PAYLOAD_BYTES,
  PROTOCOL_ERROR_CODES,
} from '../../src/ipc/index.js';
import { oneOfEach } from './fixtures.js';

const valid = oneOfEach();
const validFrames = valid.map((m) => encodeFrame(m));
const sentinel = valid[1]!;
const sentinelFrame = encodeFrame(sentinel);

function frameOf(body: Uint8Array): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(body.length, 0);
  return Buffer.concat([h, body]);
}

/** Feeds bytes in the given chunk sizes; returns every result. Fails the property if push throws. */
function feed(decoder: FrameDecoder, bytes: Buffer, cuts: number[]): FrameResult[] {
  const out: FrameResult[] = [];
  let at = 0;
  for (const c of cuts) {
    if (at >= bytes.length) break;
    out.push(...decoder.push(bytes.subarray(at, at + c)));
    at += c;
  }
  out.push(...decoder.push(bytes.subarray(at)));
  return out;
}

const chunking = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 40 });

// A frame the decoder should reject, with the code it must report.
const badFrame = fc.oneof(
  fc
    .uint8Array({ maxLength: 200 })
    .map((b) => ({ bytes: frameOf(b), codes: ['decode_failed', 'unknown_type', 'version_mismatch'] })),
  fc.record({ type: fc.string({ maxLength: 12 }), junk: fc.anything() }).map((o) => ({
    bytes: frameOf(pack({ ...sentinel, type: `x_${o.type}`, payload: o.junk })),
    codes: ['unknown_type'],
  })),
  // Every type but request_status has required payload fields, so `{ junk }` must be rejected.
  fc
    .constantFrom(...valid.filter((m) => m.type !== 'request_status'))
    .chain((m) =>
      fc
        .anything()
        .map((junk) => ({ bytes: frameOf(pack({ ...m, payload: { junk } })), codes: ['decode_failed'] })),
    ),
  fc
    .integer({ min: 2, max: 1000 })
    .map((v) => ({ bytes: frameOf(pack({ ...sentinel, v })), codes: ['version_mismatch'] })),
  fc
    .record({
      extra: fc.integer({ min: 1, max: 5 * MAX_FRAME_PAYLOAD_BYTES }),
      fill: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ extra, fill }) => {
      const len = MAX_FRAME_PAYLOAD_BYTES + extra;
      const h = Buffer.alloc(4);
      h.writeUInt32LE(len, 0);
      return { bytes: Buffer.concat([h, Buffer.alloc(len, fill)]), codes: ['frame_too_large'] };
    }),
);

// Thousands of runs each: on a busy 2-core machine one property can take well over the unit default.
describe('IPC codec fuzzing', { timeout: 90_000 }, () => {
  it('random bytes never throw and only yield known results', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), chunking, (bytes, cuts) => {
        const results = feed(new FrameDecoder(), Buffer.from(bytes), cuts);
        for (const r of results) if (!r.ok) expect(PROTOCOL_ERROR_CODES).toContain(r.error);
      }),
      { numRuns: 3000 },
    );
  });

  it('a malformed or oversized frame gets the right code and the next valid frame still decodes', () => {
    fc.assert(
      fc.property(fc.array(badFrame, { minLength: 1, maxLength: 4 }), chunking, (bads, cuts) => {
        const stream = Buffer.concat([...bads.map((b) => b.bytes), sentinelFrame]);
        const results = feed(new FrameDecoder(), stream, cuts);
        expect(results).toHaveLength(bads.length + 1);
        bads.forEach((b, i) => {
          const r = results[i]!;
          expect(r.ok).toBe(false);
          if (!r.ok) expect(b.codes).toContain(r.error);
        });
        expect(results.at(-1)).toEqual({ ok: true, message: sentinel });
      }),
      { numRuns: 3000 },
    );
  });

  it('valid frames split at arbitrary boundaries decode exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: validFrames.length - 1 }), { minLength: 1, maxLength: 8 }),
        chunking,
        (idx, cuts) => {
          const stream = Buffer.concat(idx.map((i) => validFrames[i]!));
          const results = feed(new FrameDecoder(), stream, cuts);
          expect(results).toEqual(idx.map((i) => ({ ok: true, message: valid[i] })));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a truncated frame yields nothing, holds its bytes, and never throws', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: validFrames.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (i, f) => {
          const frame = validFrames[i]!;
          const cut = Math.floor(f * (frame.length - 1));
          const decoder = new FrameDecoder();
          expect(decoder.push(frame.subarray(0, cut))).toEqual([]);
          expect(decoder.pendingBytes).toBe(cut);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
