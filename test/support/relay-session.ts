/**
 * IRL through the engine under test: its relay session started and stopped over the engine's HTTP
 * API, as `telemy cloud start` and `telemy cloud stop` do.
 *
 * ```ts
 * const session = await startRelaySession(api);   // active, ingest addresses revealed
 * phone = startFfmpegPublisher({ url: session.ingest.srt_url as string, bitrateKbps: 1500 });
 * await stopRelaySession(api);
 * ```
 */
import type { EngineApi } from './engine-api.js';
import { eventually } from './telemy-process.js';

export interface RelaySessionView {
  session_id: string;
  status: string;
  ingest: { srt_url: string | null; srtla_url?: string | null };
}

interface RelayView {
  session: RelaySessionView | null;
}

/** Asks for a session, then resolves with it once the relay serves (status active). */
export async function startRelaySession(api: EngineApi, timeoutMs = 120_000): Promise<RelaySessionView> {
  await api.request('/api/relay/start', null);
  const { value } = await eventually(async () => {
    const r = (await api.request<RelayView>('/api/relay?reveal=true')).json;
    return r.session?.status === 'active' ? r.session : null;
  }, timeoutMs);
  return value;
}

/** Stops the session (a relay outlives the engine by design) and waits until the engine has none. */
export async function stopRelaySession(api: EngineApi, timeoutMs = 30_000): Promise<void> {
  await api.request('/api/relay/stop', null);
  await eventually(async () => (await api.request<RelayView>('/api/relay')).json.session === null, timeoutMs);
}
