import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * Kick chat as its clients see it: a Pusher-protocol websocket at `/app/<key>`
 * (`pusher:connection_established`, `pusher:subscribe` → `pusher_internal:subscription_succeeded`,
 * `pusher:ping`/`pusher:pong`, `App\Events\ChatMessageEvent` with JSON-encoded `data`) and, on the
 * same HTTP port, `GET /api/v2/channels/<slug>` and the public API's `POST /public/v1/chat`.
 */

export interface KickChatter {
  id: number;
  username: string;
  /** Badge types, e.g. ['broadcaster'], ['moderator'], ['vip'], []. */
  badges: string[];
}

export interface KickPostedMessage {
  authorization: string;
  body: { content?: string; type?: string; broadcaster_user_id?: number };
}

interface Client {
  ws: WebSocket;
  channels: Set<string>;
}

export interface KickStubOptions {
  channels?: Record<string, { chatroomId: number; userId: number }>;
  /** Bearer tokens accepted by `POST /public/v1/chat`. */
  tokens?: string[];
  /** Accepts further tokens (an OAuth stub's current ones). */
  accept?: (token: string) => boolean;
}

export class KickStub {
  readonly posted: KickPostedMessage[] = [];
  /** Pusher events received from clients (parsed). */
  readonly received: Array<{ event: string; data?: unknown; channel?: string }> = [];
  connectionsAccepted = 0;
  private readonly clients = new Set<Client>();
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly channels: Record<string, { chatroomId: number; userId: number }>;
  private readonly tokens: Set<string>;
  private readonly accepts: (token: string) => boolean;
  port = 0;

  constructor(opts: KickStubOptions = {}) {
    this.channels = opts.channels ?? {};
    this.tokens = new Set(opts.tokens ?? []);
    this.accepts = opts.accept ?? (() => false);
    this.server = http.createServer((req, res) => void this.http(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/app/')) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/app/stubkey?protocol=7&client=js&version=8.4.0&flash=false`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  subscribedChannels(): string[] {
    const all = new Set<string>();
    for (const c of this.clients) for (const ch of c.channels) all.add(ch);
    return [...all];
  }

  /** Sends a chat message event to every client subscribed to the chatroom's channel. */
  say(chatroomId: number, from: KickChatter, content: string): void {
    const channel = `chatrooms.${chatroomId}.v2`;
    const data = {
      id: randomUUID(),
      chatroom_id: chatroomId,
      content,
      type: 'message',
      created_at: new Date().toISOString(),
      sender: {
        id: from.id,
        username: from.username,
        slug: from.username.toLowerCase(),
        identity: {
          color: '#75FD46',
          badges: from.badges.map((type) => ({ type, text: type[0]!.toUpperCase() + type.slice(1) })),
        },
      },
      metadata: { message_ref: String(Date.now()) },
    };
    this.broadcast(channel, { event: 'App\\Events\\ChatMessageEvent', data: JSON.stringify(data), channel });
  }

  /** Sends a raw frame to every subscribed client of a channel (malformed-input tests). */
  sendRaw(channel: string, frame: string): void {
    for (const c of this.clients) if (c.channels.has(channel)) c.ws.send(frame);
  }

  /** Server-initiated keepalive, as Pusher does after inactivity. */
  ping(): void {
    for (const c of this.clients) c.ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
  }

  dropAll(): void {
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
  }

  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`kick stub: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private broadcast(channel: string, frame: object): void {
    this.sendRaw(channel, JSON.stringify(frame));
  }

  private accept(ws: WebSocket): void {
    this.connectionsAccepted++;
    const client: Client = { ws, channels: new Set() };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => ws.terminate());
    ws.on('message', (raw) => {
      let msg: { event?: string; data?: { channel?: string } | string; channel?: string };
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        return;
      }
      this.received.push({ event: String(msg.event), data: msg.data, channel: msg.channel });
      if (msg.event === 'pusher:ping') ws.send(JSON.stringify({ event: 'pusher:pong', data: {} }));
      if (msg.event === 'pusher:subscribe' && typeof msg.data === 'object' && msg.data?.channel) {
        const channel = msg.data.channel;
        client.channels.add(channel);
        ws.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', data: '{}', channel }));
      }
    });
    ws.send(
      JSON.stringify({
        event: 'pusher:connection_established',
        data: JSON.stringify({
          socket_id: `${Date.now()}.${this.connectionsAccepted}`,
          activity_timeout: 120,
        }),
      }),
    );
  }

  private async http(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://stub');
    const channelMatch = /^\/api\/v2\/channels\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && channelMatch) {
      const ch = this.channels[decodeURIComponent(channelMatch[1]!)];
      if (!ch) return json(404, { message: 'Not found' });
      return json(200, {
        id: ch.userId,
        user_id: ch.userId,
        slug: channelMatch[1],
        chatroom: { id: ch.chatroomId },
      });
    }
    const authorization = req.headers.authorization ?? '';
    const bearer = authorization.replace(/^Bearer /, '');
    const authorized = this.tokens.has(bearer) || this.accepts(bearer);
    if (req.method === 'GET' && url.pathname === '/public/v1/users') {
      if (!authorized) return json(401, { message: 'Unauthorized' });
      return json(200, { data: [{ user_id: 4242, name: 'telemybot' }], message: 'OK' });
    }
    if (req.method === 'POST' && url.pathname === '/public/v1/chat') {
      if (!authorized) return json(401, { message: 'Unauthorized' });
      let body: KickPostedMessage['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(400, { message: 'invalid json' });
      }
      this.posted.push({ authorization, body });
      return json(200, { data: { is_sent: true, message_id: randomUUID() }, message: 'OK' });
    }
    json(404, { message: 'Not found' });
  }
}
