import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ApiErrorCode } from '@telemy/protocol';

/**
 * The control plane's one error table: every error it sends, from a route, from fastify (404, bad
 * JSON, bad URL) or from below fastify (a request the HTTP parser refused, a timeout, a refused
 * connection), is `{ "error": { code, message, request_id, details } }` with the status of its code.
 */
export const STATUS_OF: Record<ApiErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  conflict: 409,
  invalid_transition: 409,
  idempotency_mismatch: 409,
  payload_too_large: 413,
  headers_too_large: 431,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
};

/** `Retry-After` of a 503 because the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** An error with a stable API code; the HTTP layer turns it into the JSON error envelope. */
export class ApiError extends Error {
  readonly status: number;
  /**
   * `details.retry_after_seconds`, when a number, is also sent as the `Retry-After` header (429 and
   * 503 set it).
   */
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = STATUS_OF[code];
  }
}

export interface ErrorEnvelope {
  error: { code: ApiErrorCode; message: string; request_id: string; details: Record<string, unknown> };
}

export function errorEnvelope(
  code: ApiErrorCode,
  message: string,
  requestId: string,
  details: Record<string, unknown> = {},
): ErrorEnvelope {
  return { error: { code, message, request_id: requestId, details } };
}

/** The `Retry-After` an error's details ask for, if any. */
export function retryAfterOf(details: Record<string, unknown>): number | undefined {
  const v = details.retry_after_seconds;
  return typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.ceil(v)) : undefined;
}

/**
 * A whole HTTP/1.1 response carrying the envelope with a fresh request id, for errors sent below
 * fastify (straight onto the socket: the parser refused the request, a timeout, a refused
 * connection). It always ends with `Connection: close`; the caller closes the socket after it.
 */
export function rawErrorResponse(
  code: ApiErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): string {
  const status = STATUS_OF[code];
  const requestId = randomUUID();
  const body = JSON.stringify(errorEnvelope(code, message, requestId, details));
  const retryAfter = retryAfterOf(details);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    (retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`) +
    `Connection: close\r\n` +
    `Date: ${new Date().toUTCString()}\r\n\r\n` +
    body
  );
}
