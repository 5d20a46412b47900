import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { responses } from '../openapi.js';

export const openApiDocumentRoute: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/v1/openapi.json',
    {
      schema: {
        summary: 'This OpenAPI 3.1 document',
        response: responses({ 200: z.record(z.string(), z.unknown()).describe('the document') }),
      },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
};
