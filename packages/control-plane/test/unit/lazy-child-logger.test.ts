import { createLogger } from '@telemy/protocol';
import { describe, expect, it, vi } from 'vitest';
import { LazyChildLogger } from '../../src/http/lazy-child-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('lazy-test', {
    level: 'info',
    destination: { write: (s: string) => lines.push(JSON.parse(s)) },
  });
  return { log, lines };
}

describe('LazyChildLogger', () => {
  it('makes no pino child until something is logged', () => {
    const { log } = capture();
    const child = vi.spyOn(log, 'child');
    const lazy = new LazyChildLogger(log, { reqId: 'r-1' }, {});
    expect(lazy.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
  });

  it('logs through a child carrying the request id, with secrets still redacted, made once', () => {
    const { log, lines } = capture();
    const child = vi.spyOn(log, 'child');
    const lazy = new LazyChildLogger(log, { reqId: 'r-2' }, {});
    lazy.warn({ token: 'tmk_SECRET' }, 'reply already sent');
    lazy.error('second');
    lazy.debug('below the level');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([
      expect.objectContaining({ reqId: 'r-2', token: '[redacted]', msg: 'reply already sent', level: 40 }),
      expect.objectContaining({ reqId: 'r-2', msg: 'second', level: 50 }),
    ]);
  });

  it('honours a per-route level and passes child() through', () => {
    const { log, lines } = capture();
    const lazy = new LazyChildLogger(log, { reqId: 'r-3' }, { level: 'error' });
    expect(lazy.level).toBe('error');
    lazy.info('dropped');
    lazy.child({ part: 'x' }).error('kept');
    expect(lines).toEqual([expect.objectContaining({ reqId: 'r-3', part: 'x', msg: 'kept' })]);
  });
});
