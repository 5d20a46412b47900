import type { ApiErrorCode, Logger } from '@telemy/protocol';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { ApiError, DATABASE_RETRY_AFTER_SECONDS, errorEnvelope, retryAfterOf, STATUS_OF } from '../errors.js';
import { BodyTimeoutError, bodyPending } from './body-timeout.js';
import type { DatabaseOutage } from './database-outage.js';
import { appWide } from './plugin.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The error envelope, with the status of its code (`STATUS_OF`). Also sets `x-request-id` (fastify's
 * bad-URL path runs no hooks), `Retry-After` from `details.retry_after_seconds`, and closes the
 * connection when part of the request body is still on the wire.
 */
export function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  code: ApiErrorCode,
  message: string,
  details: Record<string, unknown> = {},
) {
  const retryAfter = retryAfterOf(details);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  if (bodyPending(req.raw)) reply.header('connection', 'close');
  return reply
    .code(STATUS_OF[code])
    .header('x-request-id', req.id)
    .type('application/json')
    .send(errorEnvelope(code, message, req.id, details));
}

/** The 400 for a body its route's schema refuses: the first issue in the message, all in details. */
export function invalidBody(schema: z.ZodType, body: unknown): ApiError {
  const issues = schema.safeParse(body).error?.issues ?? [];
  const first = issues[0];
  return new ApiError(
    'invalid_request',
    `invalid request body: ${first?.path.join('.') || 'body'}: ${first?.message}`,
    {
      field: first?.path.join('.') ?? '',
      issues: issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    },
  );
}

/** Errors fastify meets before routing (a URL it cannot decode), passed as its `frameworkErrors`. */
export function frameworkErrors(log: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      return sendError(req, reply, 'invalid_request', 'the URL is not valid (bad percent-encoding?)', {
        field: 'url',
      });
    }
    log.error({ reqId: req.id, err: err.message }, 'unhandled error');
    return sendError(req, reply, 'internal_error', 'internal error');
  };
}

/**
 * Every error a route, a hook or fastify raises becomes the one envelope of the code table
 * (`STATUS_OF`), and so does a request no route matches.
 */
export const errorHandling = appWide<{ outage: DatabaseOutage; log: Logger }>(
  async (app, { outage, log }) => {
    app.setNotFoundHandler((req, reply) =>
      sendError(req, reply, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
    );
    app.setErrorHandler((err, req, reply) => {
      if (outage.explains(err)) {
        // Logged once per outage by the tracker, not once per request.
        return sendError(req, reply, 'unavailable', 'the database is not reachable', {
          retry_after_seconds: DATABASE_RETRY_AFTER_SECONDS,
        });
      }
      if (err instanceof ApiError) {
        if (err.status >= 500 && !(err.code === 'unavailable' && outage.down)) {
          log.error({ reqId: req.id, code: err.code }, err.message);
        }
        return sendError(req, reply, err.code, err.message, err.details);
      }
      if (err instanceof BodyTimeoutError) {
        return sendError(req, reply, 'request_timeout', err.message, {
          timeout_seconds: err.timeoutMs / 1000,
        });
      }
      if (hasZodFastifySchemaValidationErrors(err)) {
        // Described from the body as it arrived: fastify hands the validator null for a missing body.
        const e = invalidBody(req.routeOptions.schema?.body as z.ZodType, req.body);
        return sendError(req, reply, e.code, e.message, e.details);
      }
      const e = err as { statusCode?: number; code?: string; message?: string };
      if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(
          req,
          reply,
          'payload_too_large',
          `request body is larger than ${BODY_LIMIT_BYTES} bytes`,
          {
            limit_bytes: BODY_LIMIT_BYTES,
          },
        );
      }
      if (e.statusCode === 415 || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return sendError(
          req,
          reply,
          'invalid_request',
          'the body must be JSON (Content-Type: application/json)',
          {
            field: 'content-type',
          },
        );
      }
      if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
        return sendError(req, reply, 'invalid_request', 'malformed request body: not valid JSON', {
          field: 'body',
        });
      }
      log.error({ reqId: req.id, err: e.message }, 'unhandled error');
      return sendError(req, reply, 'internal_error', 'internal error');
    });
  },
);
