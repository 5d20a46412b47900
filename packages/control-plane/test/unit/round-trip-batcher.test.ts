import { describe, expect, it } from 'vitest';
import { RoundTripBatcher } from '../../src/db/round-trip-batcher.js';

interface Flush {
  items: readonly number[];
  resolve(results: readonly string[]): void;
  reject(err: unknown): void;
}

/** A batcher whose flushes are recorded and finished by the test. */
function controlled() {
  const flushes: Flush[] = [];
  let running = 0;
  let maxRunning = 0;
  const batcher = new RoundTripBatcher<number, string>(
    (items) =>
      new Promise<readonly string[]>((resolve, reject) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        const done = () => running--;
        flushes.push({
          items: [...items],
          resolve: (r) => {
            done();
            resolve(r);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        });
      }),
  );
  return { batcher, flushes, maxRunning: () => maxRunning };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RoundTripBatcher', () => {
  it('flushes a lone item at the end of its event-loop turn, without waiting for company', async () => {
    const { batcher, flushes } = controlled();
    const p = batcher.enqueue(7);
    expect(flushes).toHaveLength(0);
    await tick();
    expect(flushes.map((f) => f.items)).toEqual([[7]]);
    flushes[0]!.resolve(['seven']);
    expect(await p).toBe('seven');
  });

  it('items enqueued in the same turn while nothing is in flight go in one flush', async () => {
    const { batcher, flushes } = controlled();
    const ps = [batcher.enqueue(1), batcher.enqueue(2), batcher.enqueue(3)];
    await tick();
    expect(flushes.map((f) => f.items)).toEqual([[1, 2, 3]]);
    await tick();
    expect(flushes).toHaveLength(1);
    flushes[0]!.resolve(['a', 'b', 'c']);
    expect(await Promise.all(ps)).toEqual(['a', 'b', 'c']);
  });

  it('items arriving during a flush never join it; they go together in the next one, in order', async () => {
    const { batcher, flushes, maxRunning } = controlled();
    const first = batcher.enqueue(1);
    await tick();
    const later = [batcher.enqueue(2), batcher.enqueue(3), batcher.enqueue(4)];
    expect(flushes.map((f) => f.items)).toEqual([[1]]);
    expect(batcher.waiting).toBe(3);
    await tick();
    expect(flushes).toHaveLength(1);
    flushes[0]!.resolve(['a']);
    expect(await first).toBe('a');
    await tick();
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3, 4]]);
    // Arrives while the second flush runs: waits for a third.
    const last = batcher.enqueue(5);
    await tick();
    expect(flushes).toHaveLength(2);
    flushes[1]!.resolve(['b', 'c', 'd']);
    expect(await Promise.all(later)).toEqual(['b', 'c', 'd']);
    await tick();
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3, 4], [5]]);
    flushes[2]!.resolve(['e']);
    expect(await last).toBe('e');
    expect(maxRunning()).toBe(1);
    expect(batcher.waiting).toBe(0);
  });

  it('a failed flush rejects every member of its batch, and the batcher keeps working', async () => {
    const { batcher, flushes } = controlled();
    const lone = batcher.enqueue(1);
    await tick();
    const pair = [batcher.enqueue(2), batcher.enqueue(3)];
    flushes[0]!.resolve(['one']);
    await tick();
    const boom = new Error('connection reset');
    flushes[1]!.reject(boom);
    const settled = await Promise.allSettled(pair);
    expect(settled).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
    ]);
    expect(await lone).toBe('one');
    const after = batcher.enqueue(4);
    await tick();
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3], [4]]);
    flushes[2]!.resolve(['four']);
    expect(await after).toBe('four');
  });

  it('a flush that throws synchronously or answers the wrong number of results rejects its batch', async () => {
    let calls = 0;
    const batcher = new RoundTripBatcher<number, number>((items) => {
      calls++;
      if (calls === 1) throw new Error('bad statement');
      if (calls === 2) return Promise.resolve([]);
      return Promise.resolve(items.map((i) => i * 10));
    });
    await expect(batcher.enqueue(1)).rejects.toThrow('bad statement');
    await expect(batcher.enqueue(2)).rejects.toThrow('a batch of 1 items got 0 results');
    expect(await batcher.enqueue(3)).toBe(30);
  });
});
