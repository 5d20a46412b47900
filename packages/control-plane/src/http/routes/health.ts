import { productVersion } from '@telemy/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/types.js';
import { ApiError, DATABASE_RETRY_AFTER_SECONDS } from '../../errors.js';
import type { ControlPlaneMetrics } from '../../metrics.js';
import { responses } from '../openapi.js';

/** `/healthz`, `/readyz` and `/metrics`: served by every role, the jobs worker too. */
export const healthRoutes: FastifyPluginAsyncZod<{ db: Db; metrics: ControlPlaneMetrics }> = async (
  app,
  { db, metrics },
) => {
  const version = productVersion();
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process serves',
        response: responses({
          200: z.object({ status: z.literal('ok'), version: z.string() }).describe('serving'),
        }),
      },
    },
    async () => ({ status: 'ok' as const, version }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'The process serves and reaches its database',
        response: responses({ 200: z.object({ status: z.literal('ready') }).describe('ready') }),
      },
    },
    async () => {
      try {
        await db.query('SELECT 1');
      } catch {
        throw new ApiError('unavailable', 'the database is not reachable', {
          retry_after_seconds: DATABASE_RETRY_AFTER_SECONDS,
        });
      }
      return { status: 'ready' as const };
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        response: responses({ 200: z.string().describe('the text exposition format') }),
      },
    },
    async (_req, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};
