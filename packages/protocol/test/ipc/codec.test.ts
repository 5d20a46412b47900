import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeFrame,
  FrameDecoder,
  FrameTooLargeError,
  MAX_FRAME_PAYLOAD_BYTES,
  MESSAGE_TYPES,
  makeMessage,
} from '../../src/ipc/index.js';
import { oneOfEach } from './fixtures.js';

function rawFrame(body: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
}

describe('IPC frame codec', () => {
  it('round-trips every message type', () => {
    const messages = oneOfEach();
    expect(new Set(messages.map((m) => m.type))).toEqual(new Set(MESSAGE_TYPES));
    const decoder = new FrameDecoder();
    const results = decoder.push(Buffer.concat(messages.map((m) => encodeFrame(m))));
    expect(results).toEqual(messages.map((message) => ({ ok: true, message })));
    expect(decoder.pendingBytes).toBe(0);
  });

  it('writes a 4-byte little-endian length followed by plain MessagePack', () => {
    const msg = makeMessage('ping', { nonce: 'abc' });
    const frame = encodeFrame(msg);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect(frame.subarray(4)).toEqual(pack(msg));
  });

  it('ignores unknown fields in the envelope and the payload', () => {
    const msg = { ...makeMessage('ping', { nonce: 1 }), extra: true, payload: { nonce: 1, junk: 'x' } };
    const [r] = new FrameDecoder().push(rawFrame(pack(msg)));
    expect(r).toMatchObject({ ok: true, message: { type: 'ping', payload: { nonce: 1 } } });
    expect(r?.ok && 'junk' in r.message.payload).toBe(false);
  });

  it('names the protocol error: unknown type, bad payload, wrong version, not MessagePack', () => {
    const base = makeMessage('ping', { nonce: 1 });
    const cases: Array<[unknown, string]> = [
      [{ ...base, type: 'teleport' }, 'unknown_type'],
      [{ ...base, payload: { nonce: { deep: true } } }, 'decode_failed'],
      [{ ...base, v: 2 }, 'version_mismatch'],
      [{ ...base, priority: 'urgent' }, 'decode_failed'],
      [[1, 2, 3], 'decode_failed'],
      ['hello', 'decode_failed'],
    ];
    for (const [value, code] of cases) {
      const [r] = new FrameDecoder().push(rawFrame(pack(value)));
      expect(r).toMatchObject({ ok: false, error: code });
    }
    const [bad] = new FrameDecoder().push(rawFrame(Buffer.from([0xc1])));
    expect(bad).toMatchObject({ ok: false, error: 'decode_failed' });
    expect(decodeMessage({ ...base, type: 'teleport' })).toMatchObject({ relatedMessageId: base.id });
  });

  it('defaults switch_scene.deadline_ms to 550', () => {
    const m = makeMessage('switch_scene', { request_id: 'r', scene_name: 'BRB', reason: 'manual' });
    expect(m.payload.deadline_ms).toBe(550);
    expect(m.priority).toBe('critical');
    expect(m.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses to encode a payload over 64 KiB', () => {
    const big = makeMessage('user_notice', { level: 'info', message: 'x'.repeat(MAX_FRAME_PAYLOAD_BYTES) });
    expect(() => encodeFrame(big)).toThrow(FrameTooLargeError);
  });

  it('rejects an oversized frame, skips its bytes arriving over many chunks, then resynchronises', () => {
    const decoder = new FrameDecoder();
    const size = MAX_FRAME_PAYLOAD_BYTES * 3 + 17;
    const header = Buffer.alloc(4);
    header.writeUInt32LE(size, 0);
    const first = decoder.push(header);
    expect(first).toEqual([expect.objectContaining({ ok: false, error: 'frame_too_large' })]);
    const body = Buffer.alloc(size, 0x41);
    for (let i = 0; i < body.length; i += 4096) {
      expect(decoder.push(body.subarray(i, i + 4096))).toEqual([]);
    }
    expect(decoder.pendingBytes).toBe(0);
    const ok = makeMessage('ping', { nonce: 'after' });
    expect(decoder.push(encodeFrame(ok))).toEqual([{ ok: true, message: ok }]);
  });

  it('handles a frame split at every byte boundary', () => {
    const frame = encodeFrame(oneOfEach()[10]);
    for (let cut = 0; cut <= frame.length; cut++) {
      const decoder = new FrameDecoder();
      const a = decoder.push(frame.subarray(0, cut));
      const b = decoder.push(frame.subarray(cut));
      expect([...a, ...b]).toHaveLength(1);
      expect(b[0] ?? a[0]).toMatchObject({ ok: true });
    }
  });
});
