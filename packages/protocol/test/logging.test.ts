import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return {
    stream,
    lines: () =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger: errors', () => {
  it('keeps an error’s type, message, code, stack and cause', () => {
    const c = capture();
    const log = createLogger('t', { destination: c.stream });
    const cause = new TypeError('socket hang up');
    const err = Object.assign(new Error('request failed', { cause }), { code: 'ECONNRESET' });
    log.warn({ err }, 'call failed');
    const e = c.lines()[0]?.err as Record<string, unknown>;
    expect(e).toMatchObject({ type: 'Error', message: 'request failed', code: 'ECONNRESET' });
    expect(e.stack).toMatch(/request failed\n\s+at /);
    expect(e.cause).toMatchObject({ type: 'TypeError', message: 'socket hang up' });
  });

  it('never writes an error’s other properties, which may hold a request and its headers', () => {
    const c = capture();
    const log = createLogger('t', { destination: c.stream });
    const err = Object.assign(new Error('401 from the API'), {
      response: { config: { headers: { Authorization: 'Bearer sekrit-token-123' } } },
    });
    log.error({ err }, 'chat: send failed');
    const text = JSON.stringify(c.lines()[0]);
    expect(text).toContain('401 from the API');
    expect(text).not.toContain('sekrit-token-123');
  });

  it('leaves a non-Error value as it is', () => {
    const c = capture();
    createLogger('t', { destination: c.stream }).warn({ err: 'plain words' }, 'x');
    expect(c.lines()[0]?.err).toBe('plain words');
  });
});
