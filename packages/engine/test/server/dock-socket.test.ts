import fastifyWebsocket from '@fastify/websocket';
import type { DockAction, DockActionResult, DockState } from '@telemy/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DockSocket, registerDockSocket } from '../../src/server/dock-socket.js';
import { buildDockState } from '../../src/server/dock-state.js';
import { baseInputs } from './dock-fixtures.js';

interface Harness {
  app: FastifyInstance;
  dock: DockSocket;
  url: string;
  state: { current: DockState };
  actions: DockAction[];
}

let open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.map((a) => a.close()));
  open = [];
});

async function start(
  onAction?: (a: DockAction, progress: (r: DockActionResult) => void) => Promise<DockActionResult>,
  pushIntervalMs = 60_000,
  pingIntervalMs = 60_000,
): Promise<Harness> {
  const app = Fastify();
  await app.register(fastifyWebsocket);
  const state = { current: buildDockState(baseInputs()) };
  const actions: DockAction[] = [];
  const dock = registerDockSocket(app, {
    authorize: (req) => (req.query as { token?: string }).token === 'good',
    getState: () => state.current,
    onAction:
      onAction ??
      (async (a) => {
        actions.push(a);
        return { action_id: a.action_id, action: a.type, status: 'completed' };
      }),
    pushIntervalMs,
    pingIntervalMs,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  open.push(app);
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { app, dock, url: `ws://127.0.0.1:${addr.port}/ws`, state, actions };
}

/** A client that queues every parsed message so tests can await the next one. */
async function connect(url: string) {
  const ws = new WebSocket(url);
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  ws.on('message', (d) => {
    const msg = JSON.parse(String(d));
    const w = waiters.shift();
    if (w) w(msg);
    else queue.push(msg);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (timeoutMs = 2000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (queue.length) return resolve(queue.shift() as Record<string, unknown>);
      const t = setTimeout(() => reject(new Error('no message')), timeoutMs);
      waiters.push((m) => {
        clearTimeout(t);
        resolve(m as Record<string, unknown>);
      });
    });
  return { ws, next, pending: () => queue.length };
}

const sendAction = (ws: WebSocket, action: unknown) => ws.send(JSON.stringify({ type: 'action', action }));

describe('dock socket', () => {
  it('refuses a connection without the token with 401', async () => {
    const h = await start();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${h.url}?token=bad`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(401);
  });

  it('sends the state on connect, pushes changes on notify and skips identical states', async () => {
    const h = await start();
    const c = await connect(`${h.url}?token=good`);
    const first = await c.next();
    expect(first.type).toBe('state');
    expect((first.state as DockState).scenes.active).toBe('LIVE');

    h.dock.notify();
    h.dock.notify();
    await new Promise((r) => setTimeout(r, 50));
    expect(c.pending()).toBe(0);

    const inputs = baseInputs();
    inputs.obs.currentScene = 'BRB';
    h.state.current = buildDockState(inputs);
    h.dock.notify();
    const second = await c.next();
    expect((second.state as DockState).scenes.active).toBe('BRB');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.pending()).toBe(0);
    expect(h.dock.clientCount()).toBe(1);
    c.ws.close();
  });

  it('pushes a change on its own timer without notify', async () => {
    const h = await start(undefined, 40);
    const c = await connect(`${h.url}?token=good`);
    await c.next();
    const inputs = baseInputs();
    inputs.engine.mode = 'irl';
    h.state.current = buildDockState(inputs);
    const msg = await c.next(1000);
    expect((msg.state as DockState).header.mode).toBe('irl');
    c.ws.close();
  });

  it('answers a valid action with the handler progress and final result', async () => {
    const h = await start(async (a, progress) => {
      progress({ action_id: a.action_id, action: a.type, status: 'accepted' });
      return { action_id: a.action_id, action: a.type, status: 'completed' };
    });
    const c = await connect(`${h.url}?token=good`);
    await c.next();
    sendAction(c.ws, { type: 'switch_scene', action_id: 'a1', scene: 'BRB' });
    expect(await c.next()).toEqual({
      type: 'action_result',
      action_id: 'a1',
      action: 'switch_scene',
      status: 'accepted',
    });
    expect(await c.next()).toEqual({
      type: 'action_result',
      action_id: 'a1',
      action: 'switch_scene',
      status: 'completed',
    });
    c.ws.close();
  });

  it('rejects malformed messages with a reason and keeps the connection', async () => {
    const h = await start();
    const c = await connect(`${h.url}?token=good`);
    await c.next();

    c.ws.send('{not json');
    expect(await c.next()).toMatchObject({
      type: 'action_result',
      action_id: null,
      status: 'rejected',
      reason: 'message is not valid JSON',
    });

    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await c.next()).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('JSON text'),
    });

    sendAction(c.ws, { type: 'no_such_action', action_id: 'x1' });
    expect(await c.next()).toMatchObject({ action_id: 'x1', status: 'rejected' });

    sendAction(c.ws, {
      type: 'set_thresholds',
      action_id: 't1',
      thresholds: {
        low_bitrate_kbps: 800,
        offline_bitrate_kbps: 200,
        low_rtt_ms: 999_999,
        offline_rtt_ms: 0,
      },
    });
    const r = await c.next();
    expect(r).toMatchObject({ action_id: 't1', action: 'set_thresholds', status: 'rejected' });
    expect(r.field_errors).toEqual({ 'thresholds.low_rtt_ms': 'must be at most 60000' });
    expect(r.reason).toContain('must be at most 60000');

    sendAction(c.ws, { type: 'set_mode', action_id: 'm1', mode: 'studio' });
    expect(await c.next()).toMatchObject({ action_id: 'm1', status: 'completed' });
    expect(h.actions.map((a) => a.type)).toEqual(['set_mode']);
    c.ws.close();
  });

  it('turns a handler failure into a rejection without leaking the error text', async () => {
    const h = await start(async () => {
      throw new Error('vault key sk-live-123 exploded');
    });
    const c = await connect(`${h.url}?token=good`);
    await c.next();
    sendAction(c.ws, { type: 'relay_stop', action_id: 'r1' });
    const r = await c.next();
    expect(r).toMatchObject({
      action_id: 'r1',
      status: 'rejected',
      reason: 'the engine could not carry out relay_stop',
    });
    expect(JSON.stringify(r)).not.toContain('sk-live');
    c.ws.close();
  });

  it('broadcasts a lifecycle notice', async () => {
    const h = await start();
    const c = await connect(`${h.url}?token=good`);
    await c.next();
    h.dock.lifecycle('restarting', 'engine update');
    expect(await c.next()).toEqual({ type: 'lifecycle', phase: 'restarting', detail: 'engine update' });
    c.ws.close();
  });

  it('drops a client that stops answering pings and keeps one that answers', async () => {
    const h = await start(undefined, 60_000, 40);
    const live = await connect(`${h.url}?token=good`);
    const dead = new WebSocket(`${h.url}?token=good`, { autoPong: false });
    const closed = new Promise<void>((resolve) => dead.on('close', () => resolve()));
    await closed;
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    expect(h.dock.clientCount()).toBe(1);
    live.ws.close();
  });
});
