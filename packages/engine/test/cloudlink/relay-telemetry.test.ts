import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { RelayTelemetryClient, type TelemetryDisconnect } from '../../src/cloudlink/relay-telemetry.js';
import type { IngestMessage, StatsMessage } from '../../src/cloudlink/telemetry-messages.js';
import { captureLogger } from './support/fixtures.js';

const TOKEN = 'relay-ws-token-ABCDEFGHIJKLMNOP';

/** A stand-in for the relay's telemetry endpoint: checks the bearer token before the upgrade. */
class FakeRelay {
  readonly wss: WebSocketServer;
  readonly sockets: WebSocket[] = [];
  readonly authHeaders: (string | undefined)[] = [];
  rejected = 0;

  constructor(port = 0) {
    this.wss = new WebSocketServer({
      port,
      path: '/telemetry',
      verifyClient: (info, cb) => {
        const auth = info.req.headers.authorization;
        this.authHeaders.push(auth);
        if (auth === `Bearer ${TOKEN}`) return cb(true);
        this.rejected++;
        cb(false, 401, 'Unauthorized');
      },
    });
    this.wss.on('connection', (ws) => {
      this.sockets.push(ws);
      ws.send(JSON.stringify({ type: 'hello', session_id: 'ses_1', uptime_s: 12 }));
    });
  }

  listening(): Promise<number> {
    return new Promise((resolve) => {
      const port = () => (this.wss.address() as AddressInfo).port;
      if (this.wss.address()) resolve(port());
      else this.wss.once('listening', () => resolve(port()));
    });
  }

  latest(): WebSocket {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no connection');
    return ws;
  }

  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

function next<T>(
  client: RelayTelemetryClient,
  event: 'connected' | 'disconnected' | 'hello' | 'stats' | 'ingest' | 'link_failover',
): Promise<T> {
  return new Promise((resolve) => client.once(event, ((v: T) => resolve(v)) as never));
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(token = TOKEN) {
  const relay = new FakeRelay();
  const port = await relay.listening();
  const { logger, lines } = captureLogger();
  const client = new RelayTelemetryClient({
    url: `ws://127.0.0.1:${port}/telemetry`,
    token,
    logger,
    reconnect: { baseMs: 20, maxMs: 80 },
    staleAfterMs: 2_000,
  });
  cleanups.push(
    () => relay.close(),
    () => client.stop(),
  );
  return { relay, client, lines, port };
}

describe('RelayTelemetryClient', () => {
  it('authenticates with the bearer token and emits typed events as they arrive', async () => {
    const { relay, client } = await setup();
    const hello = next<{ session_id: string; uptime_s: number }>(client, 'hello');
    const connected = next(client, 'connected');
    client.start();
    await connected;
    expect(client.connected).toBe(true);
    expect(relay.authHeaders).toEqual([`Bearer ${TOKEN}`]);
    expect(await hello).toEqual({ type: 'hello', session_id: 'ses_1', uptime_s: 12 });

    const stats = next<StatsMessage>(client, 'stats');
    relay.latest().send(
      JSON.stringify({
        type: 'stats',
        ingest_active: true,
        egress_clients: 1,
        forwarded_link_id: 'l1',
        links: [
          {
            link_id: 'l1',
            label: 'phone',
            source_ip: '127.0.0.1',
            protocol: 'srt',
            connected_at: null,
            status: 'active',
            bitrate_kbps: 2400,
            rtt_ms: 40,
            packet_loss_pct: 0,
            jitter_ms: 3,
          },
        ],
        bonded: { total_bitrate_kbps: 2400, active_link_count: 1, health: 'healthy' },
      }),
    );
    const s = await stats;
    expect(s.ingest_active).toBe(true);
    expect(s.links[0]).toMatchObject({ link_id: 'l1', bitrate_kbps: 2400 });
    expect(s.bonded).toEqual({ total_bitrate_kbps: 2400, active_link_count: 1, health: 'healthy' });

    const ingest = next<IngestMessage>(client, 'ingest');
    relay
      .latest()
      .send(
        JSON.stringify({ type: 'ingest', state: 'stalled', link_id: 'l1', at: '2026-11-22T03:00:00.000Z' }),
      );
    expect(await ingest).toEqual({
      type: 'ingest',
      state: 'stalled',
      link_id: 'l1',
      at: '2026-11-22T03:00:00.000Z',
    });

    const failover = next(client, 'link_failover');
    relay
      .latest()
      .send(JSON.stringify({ type: 'link_failover', from: 'l1', to: 'l2', at: '2026-11-22T03:00:01.000Z' }));
    expect(await failover).toEqual({
      type: 'link_failover',
      from: 'l1',
      to: 'l2',
      at: '2026-11-22T03:00:01.000Z',
    });
  });

  it('logs and ignores malformed messages, then keeps handling good ones', async () => {
    const { relay, client, lines } = await setup();
    const connected = next(client, 'connected');
    client.start();
    await connected;
    const seen: string[] = [];
    for (const ev of ['hello', 'stats', 'ingest', 'link_failover'] as const)
      client.on(ev, () => seen.push(ev));
    const ws = relay.latest();
    ws.send('{not json');
    ws.send(JSON.stringify({ type: 'ingest', state: 'exploded', at: 1 }));
    ws.send(JSON.stringify({ type: 'stats', links: 'many' }));
    ws.send(JSON.stringify({ type: 'future_thing', x: 1 }));
    ws.send(JSON.stringify(null));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const ingest = next<IngestMessage>(client, 'ingest');
    ws.send(
      JSON.stringify({ type: 'ingest', state: 'resumed', link_id: 'l1', at: '2026-11-22T03:00:05.000Z' }),
    );
    expect((await ingest).state).toBe('resumed');
    expect(seen).toEqual(['ingest']);
    expect(client.connected).toBe(true);
    const log = lines.join('');
    expect(log).toContain('not JSON');
    expect(log).toContain('malformed relay telemetry message ignored');
    expect(log).toContain('binary frame');
  });

  it('reconnects after the relay drops the connection', async () => {
    const { relay, client } = await setup();
    const first = next(client, 'connected');
    client.start();
    await first;
    const dropped = next<TelemetryDisconnect>(client, 'disconnected');
    const again = next(client, 'connected');
    relay.latest().terminate();
    const d = await dropped;
    expect(d.wasConnected).toBe(true);
    expect(client.connected).toBe(false);
    await again;
    expect(client.connected).toBe(true);
    expect(relay.sockets).toHaveLength(2);
    expect(relay.authHeaders).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it('keeps retrying while the relay is down and connects when it comes back', async () => {
    const { relay, client, port } = await setup();
    await relay.close();
    const failures: TelemetryDisconnect[] = [];
    client.on('disconnected', (d) => failures.push(d));
    client.start();
    await expect.poll(() => failures.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
    expect(failures.every((f) => !f.wasConnected)).toBe(true);

    const back = new FakeRelay(port);
    cleanups.push(() => back.close());
    await back.listening();
    await next(client, 'connected');
    expect(back.sockets).toHaveLength(1);
  });

  it('reports a refused token as status 401 and never opens', async () => {
    const { relay, client } = await setup('wrong-token-000000');
    const d = next<TelemetryDisconnect>(client, 'disconnected');
    client.start();
    const first = await d;
    expect(first).toMatchObject({ wasConnected: false, status: 401 });
    expect(first.reason).toContain('401');
    expect(first.reason).not.toContain('wrong-token');
    expect(relay.rejected).toBeGreaterThanOrEqual(1);
    expect(relay.sockets).toHaveLength(0);
  });

  it('drops a silent connection after staleAfterMs and reconnects', async () => {
    const relay = new FakeRelay();
    const port = await relay.listening();
    const client = new RelayTelemetryClient({
      url: `ws://127.0.0.1:${port}/telemetry`,
      token: TOKEN,
      logger: captureLogger().logger,
      reconnect: { baseMs: 20, maxMs: 40 },
      staleAfterMs: 150,
    });
    cleanups.push(
      () => relay.close(),
      () => client.stop(),
    );
    const dropped = next<TelemetryDisconnect>(client, 'disconnected');
    client.start();
    expect((await dropped).wasConnected).toBe(true);
    await expect.poll(() => relay.sockets.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
  });

  it('stop() closes the socket and stops reconnecting', async () => {
    const { relay, client } = await setup();
    const c = next(client, 'connected');
    client.start();
    await c;
    client.stop();
    expect(client.connected).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(relay.sockets).toHaveLength(1);
  });
});
