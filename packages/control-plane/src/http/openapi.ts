import {
  ApiErrorBody,
  AuthTokenRequest,
  AuthTokenResponse,
  RelayHealthReport,
  RelayManifestResponse,
  RelaySession,
  RelayStartRequest,
  RelayStopRequest,
  RelayStopResponse,
  UsageCurrentResponse,
} from '@telemy/protocol';
import { z } from 'zod';

type Schema = z.ZodType;

interface Op {
  summary: string;
  security: 'none' | 'bearer' | 'relay';
  body?: Schema;
  responses: Record<number, { description: string; schema?: Schema }>;
  idempotencyKey?: boolean;
}

const err = (description: string) => ({ description, schema: ApiErrorBody });

/**
 * What any route may answer before it runs (README, "Below the routes"): a body or headers too slow,
 * headers too large, too many connections from one address, the database unreachable.
 */
const BELOW_THE_ROUTES = {
  408: err('request_timeout: the body or the headers did not arrive in time'),
  431: err('headers_too_large: headers or URL over 16 KiB'),
  503: err(
    'unavailable: too many connections from this address, or the database is unreachable (Retry-After)',
  ),
};

const OPS: Record<string, Record<string, Op>> = {
  '/api/v1/auth/token': {
    post: {
      summary: 'Exchange an API key for a short-lived access JWT',
      security: 'none',
      body: AuthTokenRequest,
      responses: {
        200: { description: 'token', schema: AuthTokenResponse },
        401: err('unknown or revoked key'),
      },
    },
  },
  '/api/v1/relay/start': {
    post: {
      summary: 'Start (or return) the relay session of the caller',
      security: 'bearer',
      idempotencyKey: true,
      body: RelayStartRequest,
      responses: {
        200: { description: 'an existing session, or a replay', schema: RelaySession },
        201: { description: 'a new session, provisioning', schema: RelaySession },
        400: err('invalid request or unknown region'),
        403: err('entitlement refused (details.reason)'),
        409: err('idempotency_mismatch'),
        429: err('rate limited'),
      },
    },
  },
  '/api/v1/relay/active': {
    get: {
      summary: 'The live (provisioning, active or grace) session',
      security: 'bearer',
      responses: {
        200: { description: 'session', schema: RelaySession },
        204: { description: 'no live session' },
      },
    },
  },
  '/api/v1/relay/stop': {
    post: {
      summary: 'Stop a session (idempotent)',
      security: 'bearer',
      body: RelayStopRequest,
      responses: { 200: { description: 'stopped', schema: RelayStopResponse }, 404: err('no such session') },
    },
  },
  '/api/v1/relay/manifest': {
    get: {
      summary: 'Launchable regions',
      security: 'bearer',
      responses: { 200: { description: 'regions', schema: RelayManifestResponse }, 503: err('no region') },
    },
  },
  '/api/v1/usage/current': {
    get: {
      summary: 'Time Bank of the current cycle, including the running session',
      security: 'bearer',
      responses: { 200: { description: 'usage', schema: UsageCurrentResponse } },
    },
  },
  '/api/v1/relay/health': {
    post: {
      summary: 'Relay heartbeat (relay agent only)',
      security: 'relay',
      body: RelayHealthReport,
      responses: {
        204: { description: 'stored' },
        401: err('unknown relay credential'),
        403: err('credential of another instance or session'),
        404: err('session stopped'),
      },
    },
  },
};

const CLIENT_HEADERS = [
  { name: 'X-Aegis-Client-Version', in: 'header', required: true, schema: { type: 'string' } },
  {
    name: 'X-Aegis-Client-Platform',
    in: 'header',
    required: true,
    schema: { type: 'string', enum: ['windows', 'macos', 'linux'] },
  },
];

/** The OpenAPI 3.1 document, generated from the zod schemas the server validates with. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(OPS)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(methods)) {
      const parameters: unknown[] = [
        { name: 'X-Request-ID', in: 'header', required: false, schema: { type: 'string', format: 'uuid' } },
      ];
      if (op.security === 'bearer') parameters.push(...CLIENT_HEADERS);
      if (op.idempotencyKey) {
        parameters.push({
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          schema: { type: 'string', format: 'uuid' },
        });
      }
      const responses: Record<string, unknown> = {};
      for (const [code, r] of Object.entries({ ...BELOW_THE_ROUTES, ...op.responses })) {
        responses[code] = r.schema
          ? {
              description: r.description,
              content: { 'application/json': { schema: z.toJSONSchema(r.schema, { io: 'output' }) } },
            }
          : { description: r.description };
      }
      paths[path][method] = {
        summary: op.summary,
        parameters,
        security:
          op.security === 'none'
            ? []
            : [{ [op.security === 'bearer' ? 'bearerJwt' : 'relayCredential']: [] }],
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: z.toJSONSchema(op.body, { io: 'input' }) } },
              },
            }
          : {}),
        responses,
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Telemy control plane', version: '1.0.0' },
    paths,
    components: {
      securitySchemes: {
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        relayCredential: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Relay rly_…' },
      },
    },
  };
}
