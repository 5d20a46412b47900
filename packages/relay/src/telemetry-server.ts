import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import type { Logger, RelayTelemetryMessage } from '@telemy/protocol';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
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

type TelemetryRoutesOptions = Omit<TelemetryServerOptions, 'host' | 'port'> & { clients: Set<WebSocket> };

/**
 * `/telemetry` (WebSocket, `Authorization: Bearer <relay_ws_token>` checked before the upgrade; its
 * clients join `clients`), `/metrics` and `/healthz`.
 */
export const telemetryRoutes: FastifyPluginAsync<TelemetryRoutesOptions> = async (app, o) => {
  await app.register(websocket);
  app.get('/healthz', async () => o.healthz());
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', o.metrics.registry.contentType);
    return o.metrics.registry.metrics();
  });
  app.get(
    '/telemetry',
    {
      websocket: true,
      preValidation: async (req, reply) => {
        if (!tokenMatches(req.headers.authorization, o.token)) {
          o.log.warn({ ip: req.ip }, 'telemetry connection refused: wrong or missing token');
          await reply.code(401).send({ error: { code: 'unauthorized', message: 'relay_ws_token required' } });
        }
      },
    },
    (socket) => {
      o.clients.add(socket);
      socket.on('close', () => o.clients.delete(socket));
      socket.on('error', () => o.clients.delete(socket));
      socket.send(JSON.stringify(o.hello()));
    },
  );
};

/** The relay's TCP port: the telemetry routes on a server of their own, and the broadcast to clients. */
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
    const { host, port, ...routes } = this.opts;
    await this.app.register(telemetryRoutes, { ...routes, clients: this.clients });
    await this.app.listen({ host, port });
    const address = this.app.server.address();
    return typeof address === 'object' && address ? address.port : port;
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
