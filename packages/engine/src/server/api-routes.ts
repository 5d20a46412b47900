import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AUTOMATION_KEYS, type ControlOutcome, type EngineControl } from '../control/engine-control.js';
import type { Diagnostics } from '../failover/diagnostics.js';
import { sendError } from './server.js';

/** The local API (token-protected by the server's hooks): state, explicit commands, flags, SLA figures. */

const intentBody = z.union([
  z.object({ intent: z.enum(['LIVE', 'LOW', 'BRB', 'OFFLINE']) }).strict(),
  z.object({ scene: z.string().min(1).max(256) }).strict(),
]);

const settingsBody = z
  .object(
    Object.fromEntries(AUTOMATION_KEYS.map((k) => [k, z.boolean().optional()])) as Record<
      (typeof AUTOMATION_KEYS)[number],
      z.ZodOptional<z.ZodBoolean>
    >,
  )
  .strict()
  .refine(
    (b) => Object.values(b).some((v) => v !== undefined),
    'give at least one of ' + AUTOMATION_KEYS.join(', '),
  );

export interface ApiRouteDeps {
  control: EngineControl;
  state: () => unknown;
  diagnostics: () => Diagnostics;
  flags: () => Record<string, boolean>;
}

export function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  app.get('/api/state', async () => deps.state());
  app.get('/api/diagnostics', async () => deps.diagnostics());

  app.post('/api/intent', async (req, reply) => {
    const body = intentBody.safeParse(req.body);
    if (!body.success)
      return sendError(
        reply,
        'invalid_request',
        'body must be {"intent": "LIVE"|"LOW"|"BRB"|"OFFLINE"} or {"scene": "<name>"}',
      );
    const outcome: ControlOutcome =
      'intent' in body.data
        ? await deps.control.intent(body.data.intent, 'api')
        : await deps.control.switchScene(body.data.scene, 'api');
    if (!outcome.ok)
      return sendError(reply, outcome.guard ? 'blocked_by_guard' : 'switch_failed', outcome.message);
    return {
      ok: true,
      message: outcome.message,
      request_id: outcome.request_id ?? null,
      scene: outcome.scene ?? null,
      latency_ms: outcome.latency_ms ?? null,
    };
  });

  app.post('/api/settings', async (req, reply) => {
    const body = settingsBody.safeParse(req.body);
    if (!body.success)
      return sendError(
        reply,
        'invalid_request',
        body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    for (const [key, value] of Object.entries(body.data)) {
      if (value === undefined) continue;
      const o = deps.control.setFlag(key as (typeof AUTOMATION_KEYS)[number], value);
      if (!o.ok) return sendError(reply, 'not_saved', o.message);
    }
    return { ok: true, flags: deps.flags() };
  });
}
