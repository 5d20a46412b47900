import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import type { Logger, RelayTelemetryMessage } from '@telemy/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { RelayMetrics } from './metrics.js';

export interface TelemetryServerOptions {
  host: string;
  port: number;
  token: string;
  metrics: RelayMetrics;
  log: Logger;
  /** The first message a new client receives. */
  hello: () => RelayTelemetryMessage;
  healthz: () => Record<string, unknown>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m?.[1]) return false;
  const given = Buffer.from(m[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The relay's TCP port: `/telemetry` (WebSocket, `Authorization: Bearer
 * <relay_ws_token>` checked before the upgrade), `/metrics` and `/healthz`.
 */
export class TelemetryServer {
  private readonly app: FastifyInstance;
  private readonly clients = new Set<WebSocket>();

  constructor(private readonly opts: TelemetryServerOptions) {
    this.app = Fastify({ logger: false });
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Starts listening; returns the bound port. */
  async listen(): Promise<number> {
    const app = this.app;
    await app.register(websocket);
    app.get('/healthz', async () => this.opts.healthz());
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', this.opts.metrics.registry.contentType);
      return this.opts.metrics.registry.metrics();
    });
    app.get(
      '/telemetry',
      {
        websocket: true,
        preValidation: async (req, reply) => {
          if (!tokenMatches(req.headers.authorization, this.opts.token)) {
            this.opts.log.warn({ ip: req.ip }, 'telemetry connection refused: wrong or missing token');
            await reply
              .code(401)
              .send({ error: { code: 'unauthorized', message: 'relay_ws_token required' } });
          }
        },
      },
      (socket) => {
        this.clients.add(socket);
        socket.on('close', () => this.clients.delete(socket));
        socket.on('error', () => this.clients.delete(socket));
        socket.send(JSON.stringify(this.opts.hello()));
      },
    );
    await app.listen({ host: this.opts.host, port: this.opts.port });
    const address = app.server.address();
    return typeof address === 'object' && address ? address.port : this.opts.port;
  }

  broadcast(msg: RelayTelemetryMessage): void {
    const frame = JSON.stringify(msg);
    for (const c of this.clients) if (c.readyState === c.OPEN) c.send(frame);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.terminate();
    await this.app.close();
  }
}
