import { createLogger } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/types.js';
import { DatabaseOutage, isDatabaseUnavailable, watchDatabase } from '../../src/http/database-outage.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('knows a server that cannot be reached, is going away, starting up or full', () => {
    for (const err of [
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      pgError('ECONNRESET'),
      pgError('ETIMEDOUT'),
      pgError('ENOTFOUND', 'getaddrinfo ENOTFOUND db'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P02'),
      pgError('57P03', 'the database system is starting up'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('08006', 'connection failure'),
      pgError('08001'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')], ''),
      new Error('wrapped', { cause: pgError('57P01') }),
    ]) {
      expect(isDatabaseUnavailable(err), String(err)).toBe(true);
    }
  });

  it('leaves statements the server refused, and everything else, alone', () => {
    for (const err of [
      pgError('23505', 'duplicate key value violates unique constraint'),
      pgError('42P01', 'relation "x" does not exist'),
      pgError('40001', 'could not serialize access'),
      pgError('57014', 'canceling statement due to statement timeout'),
      new Error('boom'),
      'ECONNREFUSED',
      null,
      undefined,
    ]) {
      expect(isDatabaseUnavailable(err), String(err)).toBe(false);
    }
  });
});

function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = createLogger('t', {
    level: 'info',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  return { lines, log };
}

describe('DatabaseOutage and watchDatabase', () => {
  /** A fake store that fails while `down`. */
  function fakeDb(state: { down: boolean }): Db {
    const q: Queryable = {
      async query<R>() {
        if (state.down) throw pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
        return { rows: [] as R[], rowCount: 0 };
      },
      async exec() {
        if (state.down) throw new Error('Connection terminated unexpectedly');
      },
    };
    return {
      kind: 'pg',
      ...q,
      async transaction(fn) {
        if (state.down) throw pgError('ECONNREFUSED');
        return fn(q);
      },
      async withAdvisoryLock(_key, fn) {
        return { acquired: true, value: await fn() };
      },
      async listen() {
        return { close: async () => {} };
      },
      async close() {},
    };
  }

  it('logs one line when the outage starts and one when a query succeeds again', async () => {
    const { lines, log } = capture();
    const state = { down: false };
    const outage = new DatabaseOutage(log);
    const db = watchDatabase(fakeDb(state), outage);
    await db.query('SELECT 1');
    state.down = true;
    const errors: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      await db.query('SELECT 1').catch((e) => errors.push(e));
      await db.exec('SELECT 1').catch((e) => errors.push(e));
      await db.transaction(async () => 1).catch((e) => errors.push(e));
    }
    expect(outage.down).toBe(true);
    expect(errors).toHaveLength(60);
    for (const e of errors) expect(outage.explains(e)).toBe(true);
    expect(outage.explains(new Error('other', { cause: errors[0] }))).toBe(true);
    state.down = false;
    await db.query('SELECT 1');
    await db.query('SELECT 1');
    expect(outage.down).toBe(false);
    expect(lines.map((l) => l.msg)).toEqual(['database unavailable', 'database available again']);
  });

  it("does not judge what a transaction's or a lock's callback throws (it may call other services)", async () => {
    const { lines, log } = capture();
    const outage = new DatabaseOutage(log);
    const db = watchDatabase(fakeDb({ down: false }), outage);
    const providerDown = pgError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443');
    await expect(
      db.transaction(async () => {
        throw providerDown;
      }),
    ).rejects.toBe(providerDown);
    await expect(
      db.withAdvisoryLock(1, async () => {
        throw providerDown;
      }),
    ).rejects.toBe(providerDown);
    expect(outage.down).toBe(false);
    expect(outage.explains(providerDown)).toBe(false);
    expect(lines).toEqual([]);
  });

  it('an error that did not come out of the database is never explained by it', () => {
    const outage = new DatabaseOutage(capture().log);
    expect(outage.explains(pgError('ECONNREFUSED'))).toBe(false);
  });
});
