import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { errorEnvelope, rawErrorResponse, STATUS_OF } from '../errors.js';

/**
 * What happens below fastify, on the server's sockets: a connection limit per client address, and
 * the envelope on everything Node's HTTP parser refuses before a request exists (`clientError`) and
 * on an `Expect` Node cannot meet. Each answer is a whole HTTP/1.1 response with a fresh request id
 * in `x-request-id` and in the body, and the connection is closed after it.
 */

/** `Retry-After` of a connection refused for the per-address limit. */
export const CONNECTION_RETRY_AFTER_SECONDS = 1;
/** A refused connection is answered on its first bytes, or after this long if it sends none. */
const REFUSE_IDLE_MS = 500;
/** A refused connection is dropped this long after its answer at the latest. */
const REFUSE_LINGER_MS = 2000;

/** Called with the status of every answer sent below fastify (for the request metrics). */
export type OnRejected = (status: number) => void;

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client. */
function addressOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * At most `max` open connections per client address on `server`: one more is answered 503
 * `unavailable` (`details.reason: too_many_connections`, `Retry-After`) and closed, without ever
 * reaching Node's HTTP machinery. Every connection counts, idle keep-alive ones too, until it closes.
 */
export function limitConnectionsPerAddress(server: net.Server, max: number, onRejected: OnRejected): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  // The HTTP server's own 'connection' listener (and anything else registered so far) only sees the
  // connections this one lets through.
  const downstream = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    const address = addressOf(socket);
    const n = open.get(address) ?? 0;
    if (n >= max) {
      refuse(socket, address, max, onRejected);
      return;
    }
    open.set(address, n + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
    for (const listener of downstream) listener.call(server, socket);
  });
}

/**
 * Answers on the connection's first bytes (a client that sends its request at once reads the 503 as
 * its response), or after `REFUSE_IDLE_MS` of silence; then half-closes and keeps draining what the
 * client still sends, so that closing never resets the connection under an unread answer.
 */
function refuse(socket: net.Socket, address: string, max: number, onRejected: OnRejected): void {
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    clearTimeout(idle);
    onRejected(503);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(
      rawErrorResponse('unavailable', `too many open connections from ${address} (at most ${max})`, {
        reason: 'too_many_connections',
        limit: max,
        retry_after_seconds: CONNECTION_RETRY_AFTER_SECONDS,
      }),
    );
    linger.refresh();
  };
  const idle = setTimeout(answer, REFUSE_IDLE_MS);
  const linger = setTimeout(() => socket.destroy(), REFUSE_IDLE_MS + REFUSE_LINGER_MS);
  idle.unref();
  linger.unref();
  socket.on('data', answer);
  socket.on('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    clearTimeout(idle);
    clearTimeout(linger);
  });
}

/** What a parser error or a socket error before a request becomes. */
function clientErrorAnswer(
  err: NodeJS.ErrnoException & { reason?: string },
  headersTimeoutMs: number,
): Parameters<typeof rawErrorResponse> {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [
      'request_timeout',
      `the request's headers did not arrive within ${headersTimeoutMs / 1000} s`,
      { timeout_seconds: headersTimeoutMs / 1000 },
    ];
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return [
      'headers_too_large',
      `the request line and headers are larger than ${http.maxHeaderSize} bytes`,
      { limit_bytes: http.maxHeaderSize },
    ];
  }
  if (err.code === 'HPE_INVALID_TRANSFER_ENCODING' || err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH') {
    return [
      'invalid_request',
      'malformed HTTP request: Content-Length and Transfer-Encoding together, or a bad Transfer-Encoding',
      { reason: err.code },
    ];
  }
  // llhttp's reasons are fixed texts (no request bytes in them).
  const reason = typeof err.reason === 'string' && err.reason ? `: ${err.reason}` : '';
  return ['invalid_request', `malformed HTTP request${reason}`, { reason: err.code ?? 'unknown' }];
}

/**
 * fastify's `clientErrorHandler`: Node's `clientError` (the parser refused the bytes, the headers
 * timed out, or the socket failed before a request existed) → the envelope, then the socket is
 * closed. Nothing is written over a response already under way on the socket.
 */
export function clientErrorHandler(headersTimeoutMs: number, onRejected: OnRejected) {
  return (err: NodeJS.ErrnoException, socket: net.Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const inFlight = (socket as net.Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const [code, message, details] = clientErrorAnswer(err, headersTimeoutMs);
      onRejected(STATUS_OF[code]);
      socket.write(rawErrorResponse(code, message, details));
    }
    socket.destroy();
  };
}

/**
 * `Expect:` other than `100-continue` (which Node answers itself): 400 `invalid_request` in the
 * envelope instead of Node's bare 417.
 */
export function answerUnmetExpectation(
  req: IncomingMessage,
  res: ServerResponse,
  genReqId: (req: IncomingMessage) => string,
  onRejected: OnRejected,
): void {
  const id = genReqId(req);
  const body = JSON.stringify(
    errorEnvelope('invalid_request', 'only "Expect: 100-continue" is supported', id, { field: 'expect' }),
  );
  onRejected(400);
  res.writeHead(400, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': id,
    connection: 'close',
  });
  res.end(body);
}
