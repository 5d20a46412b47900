import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import { type Logger, productVersion } from '@telemy/protocol';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { serverHostProblem } from '../config/schema.js';
import { codeForStatus, ENGINE_HTTP_ERRORS, type EngineErrorCode } from './errors.js';
import { answerAndClose, clientErrorHandler, closeSocket, errorEnvelope } from './raw-errors.js';
import {
  allowedHosts,
  CONTENT_SECURITY_POLICY,
  hostAllowed,
  originAllowed,
  presentedToken,
  redactToken,
  TOKEN_COOKIE,
  tokensEqual,
} from './security.js';
import { signInPage, wantsSignInPage } from './sign-in-page.js';

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

/**
 * One JSON error shape for every engine HTTP error: `{error: {code, message, request_id}}`, the id
 * also in `X-Request-Id`. Errors written to a bare socket (raw-errors.ts) use the same envelope.
 */
export function sendError(reply: FastifyReply, code: EngineErrorCode, message: string): FastifyReply {
  return reply
    .code(ENGINE_HTTP_ERRORS[code])
    .header('x-request-id', reply.request.id)
    .type('application/json')
    .send(errorEnvelope(code, message, reply.request.id));
}

/** A dock that does not answer the close handshake on shutdown is dropped after this. */
const WS_CLOSE_GRACE_MS = 1000;

function securityHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('Cache-Control', 'no-store');
}

/** The request line for a log: the access token in `?token=` replaced. */
function requestForLog(req: { method?: string; url?: string }) {
  return { method: req.method, url: redactToken(req.url ?? '') };
}

/** Node handed this request to the server's 'upgrade' listener: its socket is no HTTP connection any more. */
function onUpgradeSocket(raw: IncomingMessage): boolean {
  return (raw as IncomingMessage & { upgrade?: boolean }).upgrade === true;
}

function isUpgrade(raw: IncomingMessage): boolean {
  return onUpgradeSocket(raw) || (raw.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

const PUBLIC_PATHS = new Set(['/healthz']);

/**
 * The engine's local server: token on every route but `/healthz` (which says only "ok" and the version), Host check,
 * Origin check on state changes and WebSocket upgrades, strict CSP. Routes are added by the caller.
 */
export async function createEngineServer(opts: EngineServerOptions): Promise<FastifyInstance> {
  const hostProblem = serverHostProblem({ host: opts.host, lan_access: opts.lanAccess });
  if (hostProblem) throw new Error(`server.host = "${opts.host}" ${hostProblem}`);
  // Request logs stay off (a dock polls constantly); errors still reach the log at warn and above.
  const log = opts.logger.child(
    { component: 'server' },
    { level: 'warn', serializers: { req: requestForLog } },
  );
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // Requests that reach a closing server get the engine's 503 from the hook below instead of
    // fastify's own, which has neither the envelope nor a request id.
    return503OnClosing: false,
    // Node's parser refused the request (431, 400 for CL+TE smuggling, …): no fastify request exists.
    clientErrorHandler: clientErrorHandler(log),
    // A URL fastify cannot decode (`/%zz`): answered before any hook, so the headers are set here.
    frameworkErrors: (err, req, reply) => {
      securityHeaders(reply);
      if (onUpgradeSocket(req.raw)) reply.header('connection', 'close');
      const message =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'a URL parameter is too long'
          : 'the URL is not valid (bad percent-encoding)';
      // No hook runs for these, so a refused upgrade's socket is closed here.
      if (onUpgradeSocket(req.raw)) reply.raw.once('finish', () => closeSocket(req.raw.socket));
      return sendError(reply, 'invalid_request', message);
    },
  });
  const hosts = allowedHosts({ host: opts.host, port: opts.port, lanAccess: opts.lanAccess });
  let closing = false;

  app.setErrorHandler(
    (err: { statusCode?: number; message?: string; code?: string; stack?: string }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      const code = codeForStatus(status);
      if (status >= 500) {
        req.log.error(
          {
            request_id: req.id,
            code: err.code,
            error: redactToken(String(err.message)),
            stack: redactToken(String(err.stack)),
          },
          'request failed',
        );
        return sendError(reply, code, 'internal error');
      }
      return sendError(reply, code, redactToken(String(err.message ?? 'request refused')));
    },
  );
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    securityHeaders(reply);
    const upgrading = isUpgrade(req.raw);
    // Whatever answers a request on an upgrade socket, the connection ends after it (onResponse).
    if (onUpgradeSocket(req.raw)) reply.header('connection', 'close');
    if (closing) return sendError(reply, 'shutting_down', 'the engine is shutting down');
    if (!hostAllowed(req.headers.host, hosts)) {
      return sendError(reply, 'misdirected_request', 'this server does not answer to that Host');
    }
    const path = req.url.split('?')[0] ?? '/';
    if (PUBLIC_PATHS.has(path)) return;
    const changing = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    if ((upgrading || changing) && !originAllowed(req.headers.origin, req.headers.host)) {
      return sendError(reply, 'forbidden_origin', 'cross-origin request refused');
    }
    const queryToken = (req.query as Record<string, unknown> | undefined)?.token;
    const token = presentedToken({
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      queryToken: typeof queryToken === 'string' ? queryToken : undefined,
    });
    if (!token || !tokensEqual(token, opts.token)) {
      if (!upgrading && wantsSignInPage(req.method, path, req.headers.accept)) {
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(signInPage(req.headers.host ?? '127.0.0.1', token !== null));
      }
      return sendError(
        reply,
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

  // An upgrade request answered with HTTP (refused by the hook above, 404, the dock's authorize) is
  // on a socket Node's HTTP server no longer manages: close it, or it stays open (CLOSE-WAIT) for
  // good, holding a file descriptor and keeping `server.close()` from finishing.
  app.addHook('onResponse', async (req) => {
    if (onUpgradeSocket(req.raw)) closeSocket(req.raw.socket);
  });

  // Upgrade sockets not (yet) handed to `ws`: whatever is left of them is destroyed on close.
  const pendingUpgrades = new Set<Duplex>();
  app.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    pendingUpgrades.add(socket);
    socket.once('close', () => pendingUpgrades.delete(socket));
  });

  await app.register(fastifyWebsocket, {
    options: { maxPayload: 256 * 1024 },
    // Instead of the plugin's: a close code the dock understands, and a dock that does not answer
    // (its network gone) is dropped rather than holding shutdown for ws's 30 s close timeout.
    preClose: (done) => {
      closing = true;
      for (const client of app.websocketServer.clients) {
        const timer = setTimeout(() => client.terminate(), WS_CLOSE_GRACE_MS);
        client.once('close', () => clearTimeout(timer));
        client.close(1001, 'server closing');
      }
      for (const socket of pendingUpgrades) socket.destroy();
      pendingUpgrades.clear();
      done();
    },
  });
  app.websocketServer.on('connection', (_ws, req: IncomingMessage) => pendingUpgrades.delete(req.socket));
  // `ws` refusing a handshake the hooks let through (bad Sec-WebSocket-Key or -Version): the
  // envelope instead of its text/html answer.
  app.websocketServer.on('wsClientError', (err: Error, socket: Duplex) => {
    const headers: Record<string, string> = /Version/.test(err.message)
      ? { 'Sec-WebSocket-Version': '13, 8' }
      : {};
    answerAndClose(socket, 'invalid_request', err.message, randomUUID(), headers);
  });
  if (opts.dockDir) await app.register(fastifyStatic, { root: opts.dockDir, index: ['index.html'] });

  const version = productVersion();
  app.get('/healthz', async () => ({ status: 'ok', version }));
  app.get('/metrics', async (_req, reply) => {
    reply.type(opts.registry.contentType);
    return opts.registry.metrics();
  });
  return app as unknown as FastifyInstance;
}
