import { UsageCurrentResponse } from '@telemy/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RelayService } from '../../service/relay-service.js';
import { consumedSecondsAt } from '../../store/usage.js';
import { clientOf } from '../auth.js';
import { responses } from '../openapi.js';

/** The Time Bank: what the current cycle includes and what the caller has used of it. */
export const usageRoutes: FastifyPluginAsyncZod<{ service: RelayService; clock: () => number }> = async (
  app,
  { service, clock },
) => {
  app.get(
    '/api/v1/usage/current',
    {
      config: { auth: 'client', limit: 'usage' },
      schema: {
        summary: 'Time Bank of the current cycle, including the running session',
        response: responses({ 200: UsageCurrentResponse.describe('usage') }),
      },
    },
    async (req) => {
      const { state } = clientOf(req);
      const nowMs = clock();
      return service.usage(state.user, {
        consumedSeconds: consumedSecondsAt(state.consumed, nowMs),
        at: new Date(nowMs),
      });
    },
  );
};
