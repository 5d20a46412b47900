import type { RelayBonded, RelayLink, RelaySession, SessionStatus } from '@telemy/protocol';
import type { Queryable } from '../db/types.js';
import { ingestSrtlaUrl, ingestSrtUrl, maskIp, obsSourceUrl, telemetryWsUrl } from '../service/urls.js';
import { type Field, jsonArraySql, selectList } from './array-rows.js';

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
  srtla_port: number | null;
  instance_state: string | null;
  last_health_at: Date | null;
  last_health: { links?: RelayLink[]; bonded?: RelayBonded } | null;
}

/** The statuses of a user's one live session (a unique partial index holds it to one). */
export const LIVE_STATUSES_SQL = "('provisioning', 'active', 'grace')";

/**
 * SessionRow's fields over `sessions s` joined with `relay_instances r`: `SESSION_SELECT` (rows as
 * objects) and `SESSION_JSON_SELECT` (the hot path's JSON arrays) are both made from it.
 */
export const SESSION_FIELDS: ReadonlyArray<Field<SessionRow>> = [
  ['id', 's.id', 'value'],
  ['user_id', 's.user_id', 'value'],
  ['relay_instance_id', 's.relay_instance_id', 'value'],
  ['status', 's.status', 'value'],
  ['region', 's.region', 'value'],
  ['started_at', 's.started_at', 'time'],
  ['activated_at', 's.activated_at', 'time'],
  ['grace_started_at', 's.grace_started_at', 'time'],
  ['stopped_at', 's.stopped_at', 'time'],
  ['stop_reason', 's.stop_reason', 'value'],
  ['max_session_seconds', 's.max_session_seconds', 'value'],
  ['grace_window_seconds', 's.grace_window_seconds', 'value'],
  ['duration_seconds', 's.duration_seconds', 'value'],
  ['reconciled_seconds', 's.reconciled_seconds', 'value'],
  ['pair_token', 's.pair_token', 'value'],
  ['relay_ws_token', 's.relay_ws_token', 'value'],
  ['egress_passphrase', 's.egress_passphrase', 'value'],
  ['provider', 'r.provider', 'value'],
  ['provider_instance_id', 'r.provider_instance_id', 'value'],
  ['public_ip', 'host(r.public_ip)', 'value'],
  ['srt_port', 'r.srt_port', 'value'],
  ['egress_port', 'r.egress_port', 'value'],
  ['ws_port', 'r.ws_port', 'value'],
  ['srtla_port', 'r.srtla_port', 'value'],
  ['instance_state', 'r.state', 'value'],
  ['last_health_at', 'r.last_health_at', 'time'],
  [
    'last_health',
    `(SELECT h.payload_json FROM relay_health_events h WHERE h.session_id = s.id
       ORDER BY h.observed_at DESC, h.id DESC LIMIT 1)`,
    'value',
  ],
];

const SESSION_FROM = 'FROM sessions s LEFT JOIN relay_instances r ON r.id = s.relay_instance_id';

export const SESSION_SELECT = `SELECT ${selectList(SESSION_FIELDS)} ${SESSION_FROM}`;

/** The session as one `jsonArraySql` column named `session` (read with `rowFromJsonArray`). */
export const SESSION_JSON_SELECT = `SELECT ${jsonArraySql(SESSION_FIELDS)} AS session ${SESSION_FROM}`;

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

/** Whole seconds from `fromMs` to `toMs`, never negative. */
export const secondsBetween = (fromMs: number, toMs: number): number =>
  Math.max(0, Math.floor((toMs - fromMs) / 1000));

/** Billable seconds so far: from activation (provisioning is free) to now, or final once stopped. */
export function liveDurationSeconds(
  s: Pick<SessionRow, 'status' | 'activated_at' | 'duration_seconds'>,
  nowMs: number,
): number {
  if (s.status === 'stopped') return s.duration_seconds;
  return s.activated_at ? secondsBetween(s.activated_at.getTime(), nowMs) : 0;
}

/** The API's session object (docs/reference/api.md) at `nowMs`: live timers, masked link addresses. */
export function toApiSession(s: SessionRow, nowMs: number): RelaySession {
  const ip = s.public_ip;
  const duration = liveDurationSeconds(s, nowMs);
  const graceRemaining =
    s.status === 'grace' && s.grace_started_at
      ? Math.max(0, s.grace_window_seconds - secondsBetween(s.grace_started_at.getTime(), nowMs))
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
      srtla_port: s.srtla_port,
      ws_url: ip && s.ws_port ? telemetryWsUrl(ip, s.ws_port) : null,
    },
    credentials: { pair_token: s.pair_token, relay_ws_token: s.relay_ws_token },
    ingest: {
      srt_url: ip && s.srt_port ? ingestSrtUrl(ip, s.srt_port, s.pair_token) : null,
      srtla_url: ip && s.srtla_port ? ingestSrtlaUrl(ip, s.srtla_port, s.pair_token) : null,
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
