import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@telemy/protocol';
import { ENGINE_HTTP_ERRORS, type EngineErrorCode } from './errors.js';

/**
 * Errors the engine's server answers on a bare socket, where no fastify reply exists: Node's HTTP
 * parser refusing a request (`clientError`: 400, 408, 431) and `ws` refusing a handshake. The body is
 * the envelope every route error uses, `{error: {code, message, request_id}}`, and the connection
 * closes after it.
 */

/** The engine's one error body. */
export function errorEnvelope(code: string, message: string, requestId: string) {
  return { error: { code, message, request_id: requestId } };
}

/** A whole HTTP/1.1 error response, for writing straight to a socket. Header values must be plain ASCII. */
export function rawErrorResponse(
  code: EngineErrorCode,
  message: string,
  requestId: string = randomUUID(),
  headers: Record<string, string> = {},
): string {
  const status = ENGINE_HTTP_ERRORS[code];
  const body = JSON.stringify(errorEnvelope(code, message, requestId));
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A socket that did not close after its answer within this is destroyed anyway. */
const CLOSE_GRACE_MS = 1000;

/**
 * Ends a socket after what has been written to it and destroys it once that is flushed. For sockets
 * no HTTP server manages any more (an upgrade request that was refused): nothing else would close
 * them, and each left open holds a file descriptor and keeps `server.close()` from finishing.
 */
export function closeSocket(socket: Duplex): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('finish', () => socket.destroy());
  if (!socket.writableEnded) socket.end();
}

/** Writes an enveloped error response to a bare socket and closes it. */
export function answerAndClose(
  socket: Duplex,
  code: EngineErrorCode,
  message: string,
  requestId: string = randomUUID(),
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  if (socket.writable && !socket.writableEnded) {
    socket.write(rawErrorResponse(code, message, requestId, headers));
  }
  closeSocket(socket);
}

/** Node's HTTP parser errors → code and a message that echoes nothing of the request. */
function classifyClientError(errCode: string | undefined): [EngineErrorCode, string] {
  switch (errCode) {
    case 'HPE_HEADER_OVERFLOW':
      return ['headers_too_large', 'the request line or headers are too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return ['request_timeout', 'the request did not arrive in time'];
    default:
      return ['invalid_request', 'the request is not valid HTTP/1.1'];
  }
}

/**
 * The server's `clientError` listener (fastify's `clientErrorHandler`): answers a request Node's
 * parser refused (oversized headers or URL, Content-Length with Transfer-Encoding, bad characters)
 * with the envelope and a request id, then closes. The raw packet is never logged: it may carry the
 * token.
 */
export function clientErrorHandler(log: Logger) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // Destroyed, or answered already (the parser fails again on data that was still arriving).
    if (err.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
    const [code, message] = classifyClientError(err.code);
    const requestId = randomUUID();
    log.debug(
      { code: err.code, status: ENGINE_HTTP_ERRORS[code], request_id: requestId },
      'refused a malformed request',
    );
    // As Node itself does: no answer when a response on this connection has started already.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    answerAndClose(socket, code, message, requestId);
  };
}
