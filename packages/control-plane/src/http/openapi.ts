import swagger, { type SwaggerTransform } from '@fastify/swagger';
import { ApiErrorBody } from '@telemy/protocol';
import type { FastifyContextConfig } from 'fastify';
import { jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteAuth } from './auth.js';
import { appWide } from './plugin.js';

/** A response that carries the error envelope. */
export const failure = (description: string) => ApiErrorBody.describe(description);
/** A response without a body. */
export const empty = (description: string) => z.undefined().describe(description);

/**
 * What any route may answer before it runs (README, "Below the routes"): a body or headers too slow,
 * headers too large, too many connections from one address, the database unreachable.
 */
const BELOW_THE_ROUTES = {
  408: failure('request_timeout: the body or the headers did not arrive in time'),
  431: failure('headers_too_large: headers or URL over 16 KiB'),
  503: failure(
    'unavailable: too many connections from this address, or the database is unreachable (Retry-After)',
  ),
};

/** A route's responses: its own, over the ones any route may give. */
export function responses<R extends Record<number, z.ZodType>>(own: R): typeof BELOW_THE_ROUTES & R {
  return { ...BELOW_THE_ROUTES, ...own };
}

const SCHEME_OF: Record<RouteAuth, string> = { client: 'bearerJwt', relay: 'relayCredential' };

/** Headers the document lists for a route, from the same route config the hooks enforce. */
function requestHeaders(config: FastifyContextConfig) {
  const properties: Record<string, unknown> = { 'X-Request-ID': { type: 'string', format: 'uuid' } };
  const required: string[] = [];
  if (config.auth === 'client') {
    properties['X-Aegis-Client-Version'] = { type: 'string' };
    properties['X-Aegis-Client-Platform'] = { type: 'string', enum: ['windows', 'macos', 'linux'] };
    required.push('X-Aegis-Client-Version', 'X-Aegis-Client-Platform');
  }
  if (config.idempotencyKey) {
    properties['Idempotency-Key'] = { type: 'string', format: 'uuid' };
    required.push('Idempotency-Key');
  }
  return { type: 'object', properties, required };
}

const transform: SwaggerTransform = (input) => {
  const { schema, url } = jsonSchemaTransform(input);
  const config: FastifyContextConfig = input.route.config ?? {};
  const security = config.auth ? [{ [SCHEME_OF[config.auth]]: [] }] : [];
  return { url, schema: { ...schema, security, headers: requestHeaders(config) } };
};

/**
 * Routes declare their zod schemas once: fastify validates request bodies with them (the error
 * handler words what they refuse), handlers are typed from them, and the OpenAPI document is
 * generated from them. Answers are sent as handlers build them, JSON.stringify'd as fastify does
 * without a schema, so a response schema documents and types the answer but never reshapes it.
 * Registered before any route, so the document sees them all.
 */
export const openApi = appWide(async (app) => {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Telemy control plane', version: '1.0.0' },
      components: {
        securitySchemes: {
          bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          relayCredential: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'Relay rly_…',
          },
        },
      },
    },
    transform,
  });
});
