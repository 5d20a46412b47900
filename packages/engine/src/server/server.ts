import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { Logger } from '@telemy/protocol';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import {
  allowedHosts,
  CONTENT_SECURITY_POLICY,
  hostAllowed,
  isLoopbackHost,
  originAllowed,
  presentedToken,
  TOKEN_COOKIE,
  tokensEqual,
} from './security.js';

export interface EngineServerOptions {
  host: string;
  port: number;
  lanAccess: boolean;
  token: string;
  logger: Logger;
  registry: Registry;
  /** Built dock files; served at `/` when present. */
  dockDir?: string | null;
}

/** One JSON error shape for every engine HTTP error. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

const PUBLIC_PATHS = new Set(['/healthz']);

/**
 * The engine's local server: token on every route but `/healthz` (which says only "ok"), Host check,
 * Origin check on state changes and WebSocket upgrades, strict CSP. Routes are added by the caller.
 */
export async function createEngineServer(opts: EngineServerOptions): Promise<FastifyInstance> {
  if (!opts.lanAccess && !isLoopbackHost(opts.host)) {
    throw new Error(
      `server.host = "${opts.host}" is not a loopback address; set server.lan_access = true to serve the network`,
    );
  }
  // Request logs stay off (a dock polls constantly); errors still reach the log at warn and above.
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'server' }, { level: 'warn' }),
    bodyLimit: 64 * 1024,
  });
  const hosts = allowedHosts({ host: opts.host, port: opts.port, lanAccess: opts.lanAccess });

  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    const code =
      status === 413
        ? 'payload_too_large'
        : status === 400
          ? 'invalid_request'
          : status >= 500
            ? 'internal_error'
            : 'error';
    return sendError(reply, status, code, status >= 500 ? 'internal error' : err.message);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Cache-Control', 'no-store');
    if (!hostAllowed(req.headers.host, hosts)) {
      return sendError(reply, 421, 'misdirected_request', 'this server does not answer to that Host');
    }
    const path = req.url.split('?')[0] ?? '/';
    if (PUBLIC_PATHS.has(path)) return;
    const upgrading = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const changing = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    if ((upgrading || changing) && !originAllowed(req.headers.origin, req.headers.host)) {
      return sendError(reply, 403, 'forbidden_origin', 'cross-origin request refused');
    }
    const queryToken = (req.query as Record<string, unknown> | undefined)?.token;
    const token = presentedToken({
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      queryToken: typeof queryToken === 'string' ? queryToken : undefined,
    });
    if (!token || !tokensEqual(token, opts.token)) {
      return sendError(
        reply,
        401,
        'unauthorized',
        'missing or wrong access token: open the dashboard URL `telemy start` printed',
      );
    }
    if (typeof queryToken === 'string' && !upgrading) {
      // The printed URL carries the token once; the page then authenticates with a same-site cookie.
      reply.header(
        'Set-Cookie',
        `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      );
    }
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 256 * 1024 } });
  if (opts.dockDir) await app.register(fastifyStatic, { root: opts.dockDir, index: ['index.html'] });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_req, reply) => {
    reply.type(opts.registry.contentType);
    return opts.registry.metrics();
  });
  return app as unknown as FastifyInstance;
}
