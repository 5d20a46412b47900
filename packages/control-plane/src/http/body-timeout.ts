import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { appWide } from './plugin.js';

/** The error a body that did not arrive in time ends with (the error handler answers 408). */
export class BodyTimeoutError extends Error {
  readonly code = 'TELEMY_BODY_TIMEOUT';
  readonly statusCode = 408;
  constructor(readonly timeoutMs: number) {
    super(`the request body did not arrive within ${timeoutMs / 1000} s`);
  }
}

/** The request announces a body (a `Content-Length` above 0, or a `Transfer-Encoding`). */
export function announcesBody(raw: IncomingMessage): boolean {
  const te = raw.headers['transfer-encoding'];
  const cl = raw.headers['content-length'];
  return te !== undefined || (cl !== undefined && cl !== '0');
}

/**
 * Part of the request is still on the wire. (`complete` is Node's; an `inject()`ed request has none
 * and counts as complete.)
 */
export function bodyPending(raw: IncomingMessage): boolean {
  return raw.complete === false && announcesBody(raw);
}

interface Watch {
  expired: boolean;
  /** What fastify reads the body from, once `preParsing` ran. */
  source: Readable | null;
  stream: PassThrough | null;
}

/**
 * A request body must have arrived within `timeoutMs` of its headers. When it has not:
 * - while fastify reads it, the read fails with `BodyTimeoutError` and the error handler answers
 *   408 `request_timeout` (with `Connection: close`, as the body is still pending);
 * - before fastify reads it (an `onRequest` hook still runs), the same once it would start;
 * - after an answer was sent without it (e.g. a 401), the connection is closed.
 * A server that is slow to read a body that has fully arrived never times it out.
 */
export function bodyTimeoutHooks(timeoutMs: number) {
  const watches = new WeakMap<IncomingMessage, Watch>();
  const onRequest = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const raw = req.raw;
    if (raw.complete !== false || !announcesBody(raw)) return done();
    const watch: Watch = { expired: false, source: null, stream: null };
    watches.set(raw, watch);
    const timer = setTimeout(() => {
      if (raw.complete || raw.socket?.destroyed) return;
      watch.expired = true;
      if (reply.sent || reply.raw.headersSent) {
        raw.socket?.destroy();
      } else if (watch.stream && watch.source) {
        watch.source.unpipe(watch.stream);
        watch.stream.destroy(new BodyTimeoutError(timeoutMs));
      }
    }, timeoutMs);
    timer.unref();
    raw.once('end', () => clearTimeout(timer));
    raw.once('close', () => clearTimeout(timer));
    done();
  };
  const preParsing = (
    req: FastifyRequest,
    _reply: FastifyReply,
    payload: Readable,
    done: (err: Error | null, stream?: Readable) => void,
  ) => {
    const watch = watches.get(req.raw);
    if (!watch) return done(null, payload);
    if (watch.expired && req.raw.complete === false) return done(new BodyTimeoutError(timeoutMs), payload);
    const stream = new PassThrough();
    watch.source = payload;
    watch.stream = stream;
    payload.pipe(stream);
    done(null, stream);
  };
  return { onRequest, preParsing };
}

/** The body deadline on every request (`bodyTimeoutHooks`). */
export const bodyTimeout = appWide<{ timeoutMs: number }>(async (app, { timeoutMs }) => {
  const hooks = bodyTimeoutHooks(timeoutMs);
  app.addHook('onRequest', hooks.onRequest);
  app.addHook('preParsing', hooks.preParsing);
});
