import { mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import {
  connectIpcChannel,
  encodeFrame,
  FrameDecoder,
  type IpcMessage,
  ipcEndpoints,
  makeMessage,
} from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type IpcServer,
  silentLogger,
  snapshot,
  startServer,
  tempIpcDir,
  waitFor,
} from '../../engine/test/ipc/helpers.js';
import { ShimIpcClient } from '../src/ipc-client.js';

/**
 * A Unix-socket proxy between shim and engine. `freeze()` stops forwarding engine → shim bytes on
 * the connections open at that moment (pongs vanish, as with a hung engine); new connections flow.
 */
async function proxy(targetDir: string) {
  const dir = await tempIpcDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = ipcEndpoints(targetDir);
  const own = ipcEndpoints(dir);
  const pairs: Array<{ down: Socket; up: Socket; frozen: boolean }> = [];
  const servers: Server[] = [];
  for (const ch of ['cmd', 'evt'] as const) {
    const server = createServer(async (down) => {
      down.on('error', () => {});
      const up = await connectIpcChannel(target[ch]).catch(() => null);
      if (!up) return down.destroy();
      const pair = { down, up, frozen: false };
      pairs.push(pair);
      down.on('data', (d) => up.write(d));
      up.on('data', (d) => {
        if (!pair.frozen) down.write(d);
      });
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    await new Promise<void>((r) => server.listen(own[ch], r));
    servers.push(server);
  }
  return {
    dir,
    freeze() {
      for (const p of pairs) p.frozen = true;
    },
    close() {
      for (const p of pairs) p.down.destroy();
      for (const s of servers) s.close();
    },
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engine(
  overrides: Parameters<typeof startServer>[0] = {},
): Promise<{ server: IpcServer; dir: string }> {
  const s = await startServer(overrides);
  cleanups.push(() => s.server.stop());
  return s;
}

function client(dir: string, extra: Partial<ConstructorParameters<typeof ShimIpcClient>[0]> = {}) {
  const c = new ShimIpcClient({
    dir,
    logger: silentLogger,
    pluginVersion: 'test',
    pingIntervalMs: 100,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    ...extra,
  });
  const messages: IpcMessage[] = [];
  const events: string[] = [];
  c.on('message', (m) => messages.push(m));
  c.on('connected', ({ reconnect }) => events.push(reconnect ? 'reconnected' : 'connected'));
  c.on('disconnected', (r) => events.push(`disconnected: ${r}`));
  c.on('notice', (n) => events.push(`notice: ${n.message}`));
  cleanups.push(() => c.stop());
  return { c, messages, events };
}

describe('ShimIpcClient', () => {
  it('connects before the engine exists (retrying), handshakes, pings and gets the status', async () => {
    const dir = await tempIpcDir();
    const { c, messages, events } = client(dir);
    c.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(c.connected).toBe(false);
    const { server } = await engine({ dir, getStatusSnapshot: () => snapshot({ bitrate_kbps: 4321 }) });
    await waitFor(() => c.connected, 3000, 'connected');
    expect(events).toEqual(['connected']);
    const status = await waitFor(() => messages.find((m) => m.type === 'status_snapshot'), 2000, 'status');
    expect(status.type === 'status_snapshot' && status.payload.bitrate_kbps).toBe(4321);
    await waitFor(() => server.ready(), 2000, 'engine ready');
    await waitFor(() => c.lastRoundtripMs !== null, 1000, 'round trip');
    expect(c.lastRoundtripMs).toBeLessThan(100);
  });

  it('heartbeat loss: stale after 3 unanswered pings, reconnects, and request_status is answered', async () => {
    let bitrate = 1;
    const { server, dir: engineDir } = await engine({
      getStatusSnapshot: () => snapshot({ bitrate_kbps: bitrate }),
    });
    const p = await proxy(engineDir);
    cleanups.push(() => p.close());
    const { c, messages, events } = client(p.dir);
    const started = Date.now();
    c.start();
    await waitFor(() => c.connected && server.ready(), 3000, 'connected');
    p.freeze();
    const frozenAt = Date.now();
    bitrate = 2;
    await waitFor(() => events.some((e) => e.startsWith('disconnected')), 3000, 'stale');
    // Three pings 100 ms apart go unanswered; the fourth tick declares the link stale.
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(250);
    expect(events[1]).toBe('disconnected: link stale');
    const mark = messages.length;
    await waitFor(() => events.includes('reconnected'), 3000, 'reconnected');
    const fresh = await waitFor(
      () => messages.slice(mark).find((m) => m.type === 'status_snapshot'),
      2000,
      'status after reconnect',
    );
    expect(fresh.type === 'status_snapshot' && fresh.payload.bitrate_kbps).toBe(2);
    await waitFor(() => server.ready(), 2000, 'engine ready again');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a second shim is refused with a clear notice and the first keeps its session', async () => {
    const { server, dir } = await engine();
    const first = client(dir);
    first.c.start();
    await waitFor(() => first.c.connected && server.ready(), 3000, 'first connected');
    const second = client(dir);
    second.c.start();
    await waitFor(() => second.events.some((e) => e.startsWith('notice')), 3000, 'refusal notice');
    expect(second.events[0]).toMatch(/notice: .*another shim is already connected/);
    expect(second.c.connected).toBe(false);
    second.c.stop();
    await new Promise((r) => setTimeout(r, 250));
    expect(first.c.connected).toBe(true);
    expect(server.ready()).toBe(true);
    expect(first.events).toEqual(['connected']);
  });

  it('shows a version mismatch notice instead of crashing', async () => {
    const { dir } = await engine();
    // A shim speaking a future protocol major version.
    const { c, events } = client(dir, { protocolVersion: 2 });
    c.start();
    await waitFor(() => events.some((e) => /Protocol mismatch/.test(e)), 3000, 'mismatch notice');
    expect(c.connected).toBe(false);
  });

  it('passes engine messages through after the handshake', async () => {
    const { server, dir } = await engine();
    const { c, messages } = client(dir);
    c.start();
    await waitFor(() => c.connected && server.ready(), 3000, 'connected');
    void server.switchScene({ requestId: 'x1', scene: 'BRB', reason: 'manual', deadlineMs: 200 });
    const sw = await waitFor(() => messages.find((m) => m.type === 'switch_scene'), 2000, 'switch');
    expect(sw.type === 'switch_scene' && sw.payload).toMatchObject({ request_id: 'x1', scene_name: 'BRB' });
    expect(path.basename(ipcEndpoints(dir).evt)).toBe('aegis_evt_v1.sock');
  });

  it('resets the link after more than 5 protocol errors from the engine in 10 s, then reconnects', async () => {
    // A misbehaving engine: acknowledges hello, then sends undecodable frames on the event channel.
    const dir = await tempIpcDir();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const ep = ipcEndpoints(dir);
    let evtConn: Socket | null = null;
    let sessions = 0;
    const evtServer = createServer((sock) => {
      sock.on('error', () => {});
      evtConn = sock;
    });
    const cmdServer = createServer((sock) => {
      sock.on('error', () => {});
      const decoder = new FrameDecoder();
      sock.on('data', (chunk) => {
        for (const r of decoder.push(chunk)) {
          if (!r.ok || r.message.type !== 'hello') continue;
          sessions += 1;
          const ack = makeMessage('hello_ack', {
            core_version: 'bad',
            protocol_version: 1,
            capabilities: [],
          });
          evtConn?.write(encodeFrame(ack));
          for (let i = 0; i < 6; i++) evtConn?.write(Buffer.from([1, 0, 0, 0, 0xc1]));
        }
      });
    });
    await new Promise<void>((r) => evtServer.listen(ep.evt, r));
    await new Promise<void>((r) => cmdServer.listen(ep.cmd, r));
    cleanups.push(() => {
      evtServer.close();
      cmdServer.close();
    });
    const { c, events } = client(dir);
    c.start();
    await waitFor(() => sessions >= 2, 3000, 'reconnect after reset');
    expect(events.slice(0, 2)).toEqual(['connected', 'disconnected: protocol error storm']);
  });
});
