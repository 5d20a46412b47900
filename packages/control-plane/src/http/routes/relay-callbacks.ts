import { RelayHealthReport } from '@telemy/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RelayService } from '../../service/relay-service.js';
import { header } from '../auth.js';
import { empty, failure, responses } from '../openapi.js';

/** What relay agents call: their heartbeat, with their own credential. */
export const relayCallbackRoutes: FastifyPluginAsyncZod<{ service: RelayService }> = async (
  app,
  { service },
) => {
  app.post(
    '/api/v1/relay/health',
    {
      config: { auth: 'relay' },
      schema: {
        summary: 'Relay heartbeat (relay agent only)',
        body: RelayHealthReport,
        response: responses({
          204: empty('stored'),
          401: failure('unknown relay credential'),
          403: failure('credential of another instance or session'),
          404: failure('session stopped'),
        }),
      },
    },
    async (req, reply) => {
      const credential = (header(req, 'authorization') ?? '').replace(/^Relay\s+/, '');
      await service.health(credential, req.body);
      return reply.code(204).send();
    },
  );
};
