import { errorText } from '@telemy/protocol';
import type { FastifyInstance } from 'fastify';
import type { Session } from '../cloudlink/api-schemas.js';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import type { EngineControl } from '../control/engine-control.js';
import { sendError } from './server.js';

/**
 * The relay session through the running engine (token-protected by the server's hooks). In
 * embedded mode the control plane is a child process of the engine, and `telemy cloud start|stop|active`
 * come here rather than to it: the engine's CloudLink starts and stops the session, and its state
 * machine follows at once, exactly as for the dock's relay buttons.
 */

export interface RelayRouteDeps {
  control: EngineControl;
  cloud: () => CloudLink | null;
  /** The engine's top-level mode (`STUDIO`, `IRL_ACTIVE`, …). */
  mode: () => string;
}

/** The session without its credentials (unless revealed), and URLs with masked passphrases. */
export function relaySessionView(s: Session, reveal: boolean): Session {
  if (reveal) return s;
  const mask = (url: string | null) => (url === null ? null : url.replace(/(passphrase=)[^&]*/gi, '$1****'));
  return {
    ...s,
    credentials: { pair_token: '', relay_ws_token: '' },
    ingest: {
      srt_url: mask(s.ingest.srt_url),
      ...(s.ingest.srtla_url === undefined ? {} : { srtla_url: mask(s.ingest.srtla_url) }),
      obs_source_url: mask(s.ingest.obs_source_url),
    },
  };
}

export function registerRelayRoutes(app: FastifyInstance, deps: RelayRouteDeps): void {
  const cloudOff = (reply: Parameters<typeof sendError>[0]) =>
    sendError(reply, 'cloud_off', 'the cloud relay is off or has no control plane ([cloud] mode)');

  app.get('/api/relay', async (req, reply) => {
    const cloud = deps.cloud();
    if (!cloud) return cloudOff(reply);
    const reveal = (req.query as { reveal?: string }).reveal === 'true';
    const s = cloud.currentSession();
    return { mode: deps.mode(), session: s ? relaySessionView(s, reveal) : null };
  });

  app.post('/api/relay/start', async (_req, reply) => {
    const cloud = deps.cloud();
    if (!cloud) return cloudOff(reply);
    const before = cloud.currentSession();
    const outcome = await deps.control.relayStart('cli');
    const s = cloud.currentSession();
    if (!outcome.ok || !s) return sendError(reply, 'relay_start_refused', outcome.message);
    return reply
      .code(before?.session_id === s.session_id ? 200 : 201)
      .send({ mode: deps.mode(), session: relaySessionView(s, false) });
  });

  app.post('/api/relay/stop', async (_req, reply) => {
    const cloud = deps.cloud();
    if (!cloud) return cloudOff(reply);
    try {
      const stopped = await cloud.stopIrl('user_requested');
      return stopped ?? { session_id: null, status: 'stopped', stopped_at: null };
    } catch (err) {
      return sendError(reply, 'relay_stop_failed', errorText(err));
    }
  });
}
