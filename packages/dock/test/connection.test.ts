import { backoffMs } from '@telemy/protocol/backoff';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DockConnection, dockSocketUrl, RECONNECT_BACKOFF, takeToken } from '../src/connection.js';
import { fakeDockState } from './support/fake-state.js';

class MemoryStorage {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
}

class FakeSocket {
  readonly OPEN = 1;
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  send(s: string) {
    this.sent.push(s);
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

describe('takeToken', () => {
  it('moves the token from the URL into storage and strips it from the address', () => {
    const replaced: string[] = [];
    const history = {
      replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url),
    } as unknown as History;
    const session = new MemoryStorage();
    const local = new MemoryStorage();
    const loc = { search: '?token=abc123&x=1', pathname: '/', hash: '#/settings' } as Location;
    expect(takeToken(loc, history, [session, local] as unknown as Storage[])).toBe('abc123');
    expect(replaced).toEqual(['/?x=1#/settings']);
    expect(session.getItem('telemy.token')).toBe('abc123');
    expect(local.getItem('telemy.token')).toBe('abc123');

    const later = { search: '', pathname: '/', hash: '' } as Location;
    expect(takeToken(later, history, [new MemoryStorage(), local] as unknown as Storage[])).toBe('abc123');
    expect(replaced).toHaveLength(1);
    expect(takeToken(later, history, [new MemoryStorage()] as unknown as Storage[])).toBeNull();
  });

  it('builds ws or wss URLs with the token as a query parameter', () => {
    expect(dockSocketUrl({ protocol: 'http:', host: '127.0.0.1:7070' } as Location, 'a b')).toBe(
      'ws://127.0.0.1:7070/ws?token=a%20b',
    );
    expect(dockSocketUrl({ protocol: 'https:', host: 'pc.lan' } as Location, 't')).toBe(
      'wss://pc.lan/ws?token=t',
    );
  });

  it('backs off from 250 ms doubling to a 4 s cap', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffMs(RECONNECT_BACKOFF, a))).toEqual([
      250, 500, 1000, 2000, 4000, 4000, 4000,
    ]);
  });
});

describe('DockConnection', () => {
  let sockets: FakeSocket[];
  const make = () => {
    const s = new FakeSocket();
    sockets.push(s);
    return s as unknown as WebSocket;
  };
  beforeEach(() => {
    sockets = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says there is no token when it has no URL', () => {
    expect(new DockConnection(null, make).snapshot.phase).toBe('no_token');
  });

  it('goes open, keeps the latest state, and reconnects with backoff after a drop', () => {
    const c = new DockConnection('ws://x/ws?token=t', make);
    c.start();
    expect(c.snapshot.phase).toBe('connecting');
    sockets[0]!.open();
    expect(c.snapshot.phase).toBe('open');
    const state = fakeDockState(1_000_000);
    sockets[0]!.receive({ type: 'state', state });
    expect(c.snapshot.state?.scenes.active).toBe('LIVE');

    sockets[0]!.close();
    expect(c.snapshot).toMatchObject({ phase: 'down', attempts: 1 });
    expect(c.snapshot.state).not.toBeNull();
    vi.advanceTimersByTime(249);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.close();
    expect(c.snapshot.attempts).toBe(2);
    vi.advanceTimersByTime(500);
    sockets[2]!.open();
    expect(c.snapshot).toMatchObject({ phase: 'open', attempts: 0 });
    c.stop();
  });

  it('keeps "restarting" and "failed" through the drop that follows the notice', () => {
    const c = new DockConnection('ws://x/ws', make);
    c.start();
    sockets[0]!.open();
    sockets[0]!.receive({ type: 'lifecycle', phase: 'restarting', detail: 'update' });
    expect(c.snapshot.phase).toBe('open');
    sockets[0]!.close();
    expect(c.snapshot).toMatchObject({ phase: 'restarting', detail: 'update' });
    vi.advanceTimersByTime(250);
    sockets[1]!.receive({ type: 'lifecycle', phase: 'failed', detail: 'crashed twice: exit code 1' });
    sockets[1]!.close();
    expect(c.snapshot).toMatchObject({ phase: 'failed', detail: 'crashed twice: exit code 1' });
    c.stop();
  });

  it('an unannounced drop asks the failure probe: "failed" with its reason, until a reconnect', async () => {
    let reason: string | null = null;
    const c = new DockConnection('ws://x/ws', make, async () => reason);
    c.start();
    sockets[0]!.open();
    sockets[0]!.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.snapshot.phase).toBe('down');
    reason = 'engine killed by SIGKILL';
    await vi.advanceTimersByTimeAsync(250);
    sockets[1]!.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.snapshot).toMatchObject({ phase: 'failed', detail: 'engine killed by SIGKILL' });
    await vi.advanceTimersByTimeAsync(500);
    sockets[2]!.open();
    expect(c.snapshot).toMatchObject({ phase: 'open', detail: null });
    c.stop();
  });

  it('a "stopping" notice ends in the plain not-running state, and a reconnect clears it', () => {
    const c = new DockConnection('ws://x/ws', make);
    c.start();
    sockets[0]!.open();
    sockets[0]!.receive({ type: 'lifecycle', phase: 'stopping', detail: 'engine stopping' });
    sockets[0]!.close();
    expect(c.snapshot).toMatchObject({ phase: 'down', detail: 'engine stopping' });
    vi.advanceTimersByTime(250);
    sockets[1]!.close();
    expect(c.snapshot).toMatchObject({ phase: 'down', detail: null, attempts: 2 });
    vi.advanceTimersByTime(500);
    sockets[2]!.open();
    expect(c.snapshot).toMatchObject({ phase: 'open', detail: null });
    c.stop();
  });

  it('tracks action results by id and refuses to send while disconnected', () => {
    const c = new DockConnection('ws://x/ws', make);
    c.start();
    const early = c.send({ type: 'relay_stop' });
    expect(c.snapshot.results.get(early)).toMatchObject({
      status: 'rejected',
      reason: 'not connected to the engine',
    });

    sockets[0]!.open();
    const id = c.send({ type: 'switch_scene', scene: 'BRB' });
    expect(JSON.parse(sockets[0]!.sent[0]!)).toEqual({
      type: 'action',
      action: { type: 'switch_scene', scene: 'BRB', action_id: id },
    });
    expect(c.snapshot.results.get(id)?.status).toBe('sent');
    sockets[0]!.receive({ type: 'action_result', action_id: id, action: 'switch_scene', status: 'accepted' });
    expect(c.snapshot.results.get(id)?.status).toBe('accepted');
    sockets[0]!.receive({
      type: 'action_result',
      action_id: id,
      action: 'switch_scene',
      status: 'completed',
    });
    expect(c.snapshot.results.get(id)).toEqual({
      action_id: id,
      action: 'switch_scene',
      status: 'completed',
    });
    sockets[0]!.onmessage?.({ data: 'garbage' });
    expect(c.snapshot.phase).toBe('open');

    const waiting = c.send({ type: 'switch_scene', scene: 'LIVE' });
    sockets[0]!.close();
    expect(c.snapshot.results.get(waiting)).toMatchObject({
      status: 'rejected',
      reason: 'lost the connection to the engine before it answered',
    });
    expect(c.snapshot.results.get(id)?.status).toBe('completed');
    c.stop();
  });

  it('keeps at most 100 results', () => {
    const c = new DockConnection('ws://x/ws', make);
    c.start();
    sockets[0]!.open();
    const ids = Array.from({ length: 120 }, () => c.send({ type: 'fix_media_sources' }));
    expect(c.snapshot.results.size).toBe(100);
    expect(c.snapshot.results.has(ids[0]!)).toBe(false);
    expect(c.snapshot.results.has(ids[119]!)).toBe(true);
    c.stop();
  });
});
