import {
  RelayManifestResponse,
  RelaySession,
  RelayStartRequest,
  RelayStopRequest,
  RelayStopResponse,
} from '@telemy/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RelayService } from '../../service/relay-service.js';
import { clientOf } from '../auth.js';
import { empty, failure, responses } from '../openapi.js';

/** The client's relay session: start (idempotent), the live one, stop, and where one can run. */
export const sessionRoutes: FastifyPluginAsyncZod<{ service: RelayService }> = async (app, { service }) => {
  app.post(
    '/api/v1/relay/start',
    {
      config: { auth: 'client', limit: 'start', idempotencyKey: true },
      schema: {
        summary: 'Start (or return) the relay session of the caller',
        body: RelayStartRequest,
        response: responses({
          200: RelaySession.describe('an existing session, or a replay'),
          201: RelaySession.describe('a new session, provisioning'),
          400: failure('invalid request or unknown region'),
          403: failure('entitlement refused (details.reason)'),
          409: failure('idempotency_mismatch'),
          429: failure('rate limited'),
        }),
      },
    },
    async (req, reply) => {
      const res = await service.start(clientOf(req).state.user, req.idempotencyKey, req.body);
      if (res.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(res.statusCode).send(res.session);
    },
  );

  app.get(
    '/api/v1/relay/active',
    {
      config: { auth: 'client', limit: 'active' },
      schema: {
        summary: 'The live (provisioning, active or grace) session',
        response: responses({ 200: RelaySession.describe('session'), 204: empty('no live session') }),
      },
    },
    async (req, reply) => {
      const s = service.activeView(clientOf(req).state.live);
      return s ? s : reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/relay/stop',
    {
      config: { auth: 'client', limit: 'stop' },
      schema: {
        summary: 'Stop a session (idempotent)',
        body: RelayStopRequest,
        response: responses({ 200: RelayStopResponse.describe('stopped'), 404: failure('no such session') }),
      },
    },
    async (req) => service.stop(clientOf(req).state.user.id, req.body),
  );

  app.get(
    '/api/v1/relay/manifest',
    {
      config: { auth: 'client' },
      schema: {
        summary: 'Launchable regions',
        response: responses({ 200: RelayManifestResponse.describe('regions'), 503: failure('no region') }),
      },
    },
    async () => service.manifest(),
  );
};
