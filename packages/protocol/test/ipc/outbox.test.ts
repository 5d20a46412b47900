import { describe, expect, it } from 'vitest';
import { type IpcMessage, makeMessage, PriorityOutbox } from '../../src/ipc/index.js';
import { snapshot } from './fixtures.js';

const low = (n: number) => makeMessage('user_notice', { level: 'info', message: `low ${n}` }, 'low');
const normal = (n: number) => makeMessage('scene_list', { scenes: [`n${n}`], current: null });
const sw = (id: string, deadline = 550) =>
  makeMessage('switch_scene', {
    request_id: id,
    scene_name: 'BRB',
    reason: 'auto_failover',
    deadline_ms: deadline,
  });

function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function drainTypes(o: PriorityOutbox): IpcMessage[] {
  return o.drain().map((e) => e.message);
}

describe('PriorityOutbox', () => {
  it('writes a critical switch_scene next under a low/normal flood', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now, lowNormalCapacity: 100 });
    for (let i = 0; i < 5000; i++) o.push(i % 2 ? low(i) : normal(i));
    const s = sw('r1');
    o.push(s);
    expect(o.shift()?.message).toBe(s);
    expect(o.shift()?.message.priority).not.toBe('critical');
  });

  it('drains strictly by priority, FIFO within a lane', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now });
    const l1 = low(1);
    const n1 = normal(1);
    const h1 = makeMessage('pong', { nonce: 1 });
    const c1 = sw('a');
    const n2 = normal(2);
    const c2 = sw('b');
    for (const m of [l1, n1, h1, c1, n2, c2]) o.push(m);
    expect(drainTypes(o)).toEqual([c1, c2, h1, n1, n2, l1]);
  });

  it('under pressure drops the oldest low first, then the oldest normal, and counts per lane', () => {
    const c = clock();
    const drops: string[] = [];
    const o = new PriorityOutbox({ now: c.now, lowNormalCapacity: 4, onDrop: (lane) => drops.push(lane) });
    const ls = [low(1), low(2)];
    const ns = [normal(1), normal(2), normal(3), normal(4)];
    o.push(ls[0]!);
    o.push(ns[0]!);
    o.push(ls[1]!);
    o.push(ns[1]!);
    o.push(ns[2]!); // full: drops low 1
    o.push(ns[3]!); // full: drops low 2
    expect(o.dropped).toMatchObject({ low: 2, normal: 0 });
    const n5 = normal(5);
    o.push(n5); // no low left: drops normal 1
    expect(o.dropped).toMatchObject({ low: 2, normal: 1 });
    o.push(low(9)); // a low cannot evict normal: it is itself dropped
    expect(o.dropped).toMatchObject({ low: 3, normal: 1 });
    expect(drops).toEqual(['low', 'low', 'normal', 'low']);
    expect(drainTypes(o)).toEqual([ns[1], ns[2], ns[3], n5]);
  });

  it('never drops critical, however many are queued', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now, lowNormalCapacity: 2, highCapacity: 2 });
    for (let i = 0; i < 10_000; i++) o.push(sw(`r${i}`));
    for (let i = 0; i < 100; i++) o.push(normal(i));
    expect(o.dropped.critical).toBe(0);
    expect(o.sizeOf('critical')).toBe(10_000);
    const ids = o
      .drain()
      .filter((e) => e.message.type === 'switch_scene')
      .map((e) => (e.message.type === 'switch_scene' ? e.message.payload.request_id : ''));
    expect(ids).toEqual(Array.from({ length: 10_000 }, (_, i) => `r${i}`));
  });

  it('coalesces status_snapshot to the newest, keeping its place in line', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now });
    const n1 = normal(1);
    o.push(makeMessage('status_snapshot', snapshot({ bitrate_kbps: 1 })));
    o.push(n1);
    o.push(makeMessage('status_snapshot', snapshot({ bitrate_kbps: 2 })));
    const newest = makeMessage('status_snapshot', snapshot({ bitrate_kbps: 3 }));
    o.push(newest);
    expect(o.coalesced).toBe(2);
    expect(drainTypes(o)).toEqual([newest, n1]);
    // Once written, the next snapshot is queued again rather than merged into the sent one.
    o.push(makeMessage('status_snapshot', snapshot({ bitrate_kbps: 4 })));
    expect(o.sizeOf('normal')).toBe(1);
  });

  it('never coalesces switch_scene', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now });
    o.push(sw('same'));
    o.push(sw('same'));
    expect(o.sizeOf('critical')).toBe(2);
  });

  it('reports a critical message queued past its deadline once', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now, defaultCriticalDeadlineMs: 1000 });
    const s = sw('late', 100);
    o.push(s);
    o.push(makeMessage('shutdown_request', { reason: 'manual_exit' }));
    c.advance(100);
    expect(o.takeOverdue()).toEqual([]);
    c.advance(1);
    expect(o.takeOverdue().map((e) => e.message)).toEqual([s]);
    expect(o.takeOverdue()).toEqual([]);
    c.advance(1000);
    expect(o.takeOverdue().map((e) => e.message.type)).toEqual(['shutdown_request']);
  });

  it('bounds the high lane by dropping its oldest', () => {
    const c = clock();
    const o = new PriorityOutbox({ now: c.now, highCapacity: 2 });
    for (let i = 0; i < 5; i++) o.push(makeMessage('pong', { nonce: i }));
    expect(o.dropped.high).toBe(3);
    expect(o.drain().map((e) => (e.message.type === 'pong' ? e.message.payload.nonce : -1))).toEqual([3, 4]);
  });
});
