import type { Queryable } from '../db/types.js';

/**
 * What `session_events` records: the control plane's reasons for what it did to a session beyond
 * its status columns (see migration 005).
 * - `relay_adopted`: a relay whose launch was never recorded was recorded from its provider's
 *   records (`source`: `health_report` when its first report came in, `recovery` when the
 *   provisioning job took over a launch whose owner had died).
 * - `provisioning_resumed`: a launch whose owner died left no relay; a new one was started with a
 *   new relay credential.
 * - `provisioning_abandoned`: the same, past the attempts allowed: the session was stopped.
 * - `duplicate_relay_terminated`: a second relay of the session (a launch that lost its lease, or
 *   one left over by a dead owner) was removed.
 * - `provisioning_timeout`: the watchdog stopped a session still provisioning at its timeout.
 */
export type SessionEventKind =
  | 'relay_adopted'
  | 'provisioning_resumed'
  | 'provisioning_abandoned'
  | 'duplicate_relay_terminated'
  | 'provisioning_timeout';

export async function recordSessionEvent(
  db: Queryable,
  sessionId: string,
  kind: SessionEventKind,
  at: Date,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await db.query('INSERT INTO session_events (session_id, at, kind, detail) VALUES ($1, $2, $3, $4)', [
    sessionId,
    at,
    kind,
    JSON.stringify(detail),
  ]);
}

export interface SessionEvent {
  kind: SessionEventKind;
  at: Date;
  detail: Record<string, unknown>;
}

export async function sessionEvents(db: Queryable, sessionId: string): Promise<SessionEvent[]> {
  const res = await db.query<SessionEvent>(
    'SELECT kind, at, detail FROM session_events WHERE session_id = $1 ORDER BY at, id',
    [sessionId],
  );
  return res.rows;
}
