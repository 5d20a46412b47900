import type { RelayBonded, RelayLink, RelaySession, SessionStatus } from '@telemy/protocol';
import type { Queryable } from '../db/types.js';
import { ingestSrtUrl, maskIp, obsSourceUrl, telemetryWsUrl } from '../service/urls.js';

/** A session joined with its relay instance and its latest health report. */
export interface SessionRow {
  id: string;
  user_id: string;
  relay_instance_id: string | null;
  status: SessionStatus;
  region: string;
  started_at: Date;
  activated_at: Date | null;
  grace_started_at: Date | null;
  stopped_at: Date | null;
  stop_reason: string | null;
  max_session_seconds: number;
  grace_window_seconds: number;
  duration_seconds: number;
  reconciled_seconds: number;
  pair_token: string;
  relay_ws_token: string;
  egress_passphrase: string;
  provider: string | null;
  provider_instance_id: string | null;
  public_ip: string | null;
  srt_port: number | null;
  egress_port: number | null;
  ws_port: number | null;
  instance_state: string | null;
  last_health_at: Date | null;
  last_health: { links?: RelayLink[]; bonded?: RelayBonded } | null;
}

/** The statuses of a user's one live session (a unique partial index holds it to one). */
export const LIVE_STATUSES_SQL = "('provisioning', 'active', 'grace')";

export const SESSION_SELECT = `
  SELECT s.id, s.user_id, s.relay_instance_id, s.status, s.region, s.started_at, s.activated_at,
         s.grace_started_at, s.stopped_at, s.stop_reason, s.max_session_seconds, s.grace_window_seconds,
         s.duration_seconds, s.reconciled_seconds, s.pair_token, s.relay_ws_token, s.egress_passphrase,
         r.provider, r.provider_instance_id, host(r.public_ip) AS public_ip, r.srt_port, r.egress_port,
         r.ws_port, r.state AS instance_state, r.last_health_at,
         (SELECT h.payload_json FROM relay_health_events h WHERE h.session_id = s.id
           ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) AS last_health
  FROM sessions s LEFT JOIN relay_instances r ON r.id = s.relay_instance_id`;

export async function getSession(db: Queryable, id: string): Promise<SessionRow | null> {
  return (await db.query<SessionRow>(`${SESSION_SELECT} WHERE s.id = $1`, [id])).rows[0] ?? null;
}

/** The user's provisioning/active/grace session, or null. */
export async function getLiveSession(db: Queryable, userId: string): Promise<SessionRow | null> {
  const res = await db.query<SessionRow>(
    `${SESSION_SELECT} WHERE s.user_id = $1 AND s.status IN ${LIVE_STATUSES_SQL}`,
    [userId],
  );
  return res.rows[0] ?? null;
}

const SESSION_TIMESTAMPS = [
  'started_at',
  'activated_at',
  'grace_started_at',
  'stopped_at',
  'last_health_at',
] as const;

/**
 * A `SESSION_SELECT` row that came back as `row_to_json(...)` (PostgreSQL writes timestamps as ISO
 * 8601 strings there, and integers, text and the health jsonb as they are).
 */
export function sessionRowFromJson(json: Record<string, unknown>): SessionRow {
  // The object is the caller's freshly parsed JSON: converted in place, not copied.
  for (const k of SESSION_TIMESTAMPS) {
    const v = json[k];
    json[k] = typeof v === 'string' ? new Date(v) : null;
  }
  return json as unknown as SessionRow;
}

const secondsBetween = (from: Date, toMs: number): number =>
  Math.max(0, Math.floor((toMs - from.getTime()) / 1000));

/** Billable seconds so far: from activation (provisioning is free) to now, or final once stopped. */
export function liveDurationSeconds(
  s: Pick<SessionRow, 'status' | 'activated_at' | 'duration_seconds'>,
  nowMs: number,
): number {
  if (s.status === 'stopped') return s.duration_seconds;
  return s.activated_at ? secondsBetween(s.activated_at, nowMs) : 0;
}

/** The API representation (`30-` §3) at `nowMs`, with live timers and masked link addresses. */
export function toApiSession(s: SessionRow, nowMs: number): RelaySession {
  const ip = s.public_ip;
  const duration = liveDurationSeconds(s, nowMs);
  const graceRemaining =
    s.status === 'grace' && s.grace_started_at
      ? Math.max(0, s.grace_window_seconds - secondsBetween(s.grace_started_at, nowMs))
      : null;
  const links = (s.last_health?.links ?? []).map((l) => ({ ...l, source_ip: maskIp(l.source_ip) }));
  return {
    session_id: s.id,
    user_id: s.user_id,
    status: s.status,
    region: s.region,
    relay: {
      instance_id: s.provider_instance_id,
      public_ip: ip,
      srt_port: s.srt_port,
      egress_port: s.egress_port,
      ws_url: ip && s.ws_port ? telemetryWsUrl(ip, s.ws_port) : null,
    },
    credentials: { pair_token: s.pair_token, relay_ws_token: s.relay_ws_token },
    ingest: {
      srt_url: ip && s.srt_port ? ingestSrtUrl(ip, s.srt_port, s.pair_token) : null,
      obs_source_url: ip && s.egress_port ? obsSourceUrl(ip, s.egress_port, s.egress_passphrase) : null,
    },
    timers: {
      grace_window_seconds: s.grace_window_seconds,
      max_session_seconds: s.max_session_seconds,
      grace_remaining_seconds: graceRemaining,
      max_session_remaining_seconds: Math.max(0, s.max_session_seconds - duration),
    },
    usage: {
      started_at: s.started_at.toISOString(),
      ended_at: s.stopped_at ? s.stopped_at.toISOString() : null,
      duration_seconds: duration,
    },
    links,
    bonded: s.last_health?.bonded ?? null,
  };
}
