import { AuthTokenRequest, AuthTokenResponse } from '@telemy/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type JwtConfig, signAccessToken } from '../../auth/jwt.js';
import type { RateLimits } from '../../config.js';
import type { Db } from '../../db/types.js';
import { ApiError } from '../../errors.js';
import { sha256Hex } from '../../ids.js';
import type { ControlPlaneMetrics } from '../../metrics.js';
import { hitRateLimit } from '../../store/rate-limits.js';
import { useApiKey } from '../../store/users.js';
import { applyLimit } from '../auth.js';
import { failure, responses } from '../openapi.js';

export interface AuthTokenOptions {
  db: Db;
  jwt: JwtConfig;
  limits: RateLimits;
  metrics: ControlPlaneMetrics;
  clock: () => number;
}

/** `POST /auth/token`: an API key for a short-lived access JWT, rate-limited per key. */
export const authTokenRoute: FastifyPluginAsyncZod<AuthTokenOptions> = async (app, o) => {
  app.post(
    '/api/v1/auth/token',
    {
      schema: {
        summary: 'Exchange an API key for a short-lived access JWT',
        body: AuthTokenRequest,
        response: responses({
          200: AuthTokenResponse.describe('token'),
          401: failure('unknown or revoked key'),
        }),
      },
      // Counted before the body is validated: a malformed request spends the key's budget too.
      preValidation: async (req, reply) => {
        const key = (req.body as { api_key?: unknown } | undefined)?.api_key;
        const bucket = `authToken:${typeof key === 'string' ? sha256Hex(key).slice(0, 32) : 'invalid'}`;
        applyLimit(o.metrics, req, reply, await hitRateLimit(o.db, bucket, o.limits.authToken, o.clock()));
      },
    },
    async (req) => {
      const userId = await useApiKey(o.db, req.body.api_key, new Date(o.clock()));
      if (!userId) throw new ApiError('unauthorized', 'unknown or revoked API key');
      const { token, expiresAt } = await signAccessToken(o.jwt, userId, o.clock());
      return { cp_access_jwt: token, expires_at: expiresAt.toISOString() };
    },
  );
};
