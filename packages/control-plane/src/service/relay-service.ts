import { createHash } from 'node:crypto';
import type {
  RelayHealthReport,
  RelayManifestResponse,
  RelaySession,
  RelayStartRequest,
  RelayStopRequest,
  RelayStopResponse,
  UsageCurrentResponse,
} from '@telemy/protocol';
import { isUniqueViolation, type Queryable } from '../db/types.js';
import { ApiError } from '../errors.js';
import { newId, newPassphrase, newRelayCredential, sha256Hex } from '../ids.js';
import type { LocatedRelay } from '../providers/types.js';
import { recordSessionEvent } from '../store/session-events.js';
import {
  getLiveSession,
  getSession,
  LIVE_STATUSES_SQL,
  type SessionRow,
  toApiSession,
} from '../store/sessions.js';
import { summarizeUsage, usageSummary } from '../store/usage.js';
import type { UserRow } from '../store/users.js';
import type { ControlPlaneContext } from './context.js';
import { insertLease, leaseKeeper } from './leases.js';
import { lockSession, stopSession } from './lifecycle.js';
import { provisionRelay, recordLaunch } from './provisioner.js';
import { assertTransition } from './transitions.js';

export const START_ENDPOINT = 'POST /api/v1/relay/start';

/** Key order does not change the meaning of a body, so it does not change its hash either. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export interface StartResult {
  statusCode: 200 | 201;
  session: RelaySession;
  replayed: boolean;
}

interface IdemRecord {
  request_hash: string;
  status_code: number;
  session_id: string | null;
  expires_at: Date;
}

class Retry extends Error {}

/** The relay lifecycle operations behind `/api/v1`. */
export class RelayService {
  constructor(
    private readonly ctx: ControlPlaneContext,
    private readonly defaultRegion?: string,
  ) {}

  private now(): Date {
    return new Date(this.ctx.clock());
  }

  async start(user: UserRow, idempotencyKey: string, body: RelayStartRequest): Promise<StartResult> {
    const hash = requestHash(body);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.startOnce(user, idempotencyKey, body, hash);
      } catch (err) {
        if (!(err instanceof Retry)) throw err;
      }
    }
    throw new ApiError('conflict', 'the start request kept racing with another one; retry it');
  }

  private async readRecord(db: Queryable, userId: string, key: string): Promise<IdemRecord | null> {
    const res = await db.query<IdemRecord>(
      `SELECT request_hash, status_code, session_id, expires_at FROM idempotency_records
       WHERE user_id = $1 AND endpoint = $2 AND idempotency_key = $3`,
      [userId, START_ENDPOINT, key],
    );
    return res.rows[0] ?? null;
  }

  private async replay(rec: IdemRecord, hash: string): Promise<StartResult> {
    if (rec.request_hash !== hash) {
      throw new ApiError(
        'idempotency_mismatch',
        'this Idempotency-Key was used with a different request body',
      );
    }
    const s = rec.session_id ? await getSession(this.ctx.db, rec.session_id) : null;
    if (!s) throw new Retry();
    this.ctx.metrics.idempotencyReplays.inc();
    return {
      statusCode: rec.status_code === 201 ? 201 : 200,
      session: toApiSession(s, this.ctx.clock()),
      replayed: true,
    };
  }

  private async startOnce(
    user: UserRow,
    key: string,
    body: RelayStartRequest,
    hash: string,
  ): Promise<StartResult> {
    const { db } = this.ctx;
    const now = this.now();
    const rec = await this.readRecord(db, user.id, key);
    if (rec && rec.expires_at.getTime() > now.getTime()) return this.replay(rec, hash);

    const live = await getLiveSession(db, user.id);
    if (live) return this.answerWithExisting(user.id, key, hash, now);

    const usage = await usageSummary(db, user, now);
    if (user.plan_status !== 'active' && user.plan_status !== 'trial') {
      throw new ApiError('forbidden', 'the subscription is not active', {
        reason: 'subscription_inactive',
        plan_status: user.plan_status,
      });
    }
    if (usage.remainingSeconds <= 0 && !usage.overageAllowed) {
      throw new ApiError('forbidden', 'the Time Bank for this cycle is used up', {
        reason: 'time_bank_exhausted',
        cycle_end: usage.cycleEnd.toISOString(),
      });
    }
    const manifest = await this.resolveRegion(body.region_preference);

    const sessionId = newId('ses');
    const instanceId = newId('rly');
    const credential = newRelayCredential();
    const { timers } = this.ctx;
    const keeper = leaseKeeper(this.ctx);
    const lease = { holder: keeper.holder, attempt: 1 };
    let created: SessionRow | null;
    try {
      created = await db.transaction(async (tx) => {
        await tx.query(
          'DELETE FROM idempotency_records WHERE user_id = $1 AND endpoint = $2 AND idempotency_key = $3 AND expires_at <= $4',
          [user.id, START_ENDPOINT, key, now],
        );
        await tx.query(
          `INSERT INTO relay_instances (id, session_id, provider, region, image_id, instance_type, credential_hash,
             state, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'provisioning', $8)`,
          [
            instanceId,
            sessionId,
            this.ctx.provider.name,
            manifest.region,
            manifest.image_id,
            manifest.default_instance_type,
            sha256Hex(credential),
            now,
          ],
        );
        await tx.query(
          `INSERT INTO sessions (id, user_id, relay_instance_id, status, region, idempotency_key, requested_by,
             started_at, max_session_seconds, grace_window_seconds, pair_token, relay_ws_token, egress_passphrase,
             created_at, updated_at)
           VALUES ($1, $2, $3, 'provisioning', $4, $5, $6, $7, $8, $9, $10, $11, $12, $7, $7)`,
          [
            sessionId,
            user.id,
            instanceId,
            manifest.region,
            key,
            body.client_context.requested_by,
            now,
            timers.maxSessionSeconds,
            timers.graceWindowSeconds,
            newPassphrase(),
            newPassphrase(),
            newPassphrase(),
          ],
        );
        await insertLease(tx, instanceId, sessionId, lease, keeper.expiresAt());
        await this.insertRecord(tx, user.id, key, hash, 201, sessionId, now);
        // Read before the commit: the answer is the session as created, never one a stop that
        // committed meanwhile has already ended.
        return getSession(tx, sessionId);
      });
    } catch (err) {
      if (isUniqueViolation(err, 'sessions_one_live_per_user')) {
        return this.answerWithExisting(user.id, key, hash, now);
      }
      if (isUniqueViolation(err, 'idempotency_records')) throw new Retry();
      throw err;
    }
    this.ctx.userChanged(user.id);
    this.ctx.tasks.run(() => provisionRelay(this.ctx, sessionId, credential, lease));
    if (!created) throw new Retry();
    return { statusCode: 201, session: toApiSession(created, this.ctx.clock()), replayed: false };
  }

  private async insertRecord(
    db: Queryable,
    userId: string,
    key: string,
    hash: string,
    status: number,
    sessionId: string,
    now: Date,
  ): Promise<boolean> {
    const res = await db.query(
      `INSERT INTO idempotency_records (user_id, endpoint, idempotency_key, request_hash, status_code, session_id,
         created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (user_id, endpoint, idempotency_key) DO NOTHING`,
      [
        userId,
        START_ENDPOINT,
        key,
        hash,
        status,
        sessionId,
        now,
        new Date(now.getTime() + this.ctx.timers.idempotencyTtlSeconds * 1000),
      ],
    );
    return res.rowCount > 0;
  }

  /**
   * The user already has a live session: remember the answer under this key and return it. The
   * session is locked while the answer is recorded and read, so a stop racing this start is ordered
   * before it (the session is no longer live: the start begins again and creates a new one) or after
   * it (the answer shows the session live, as it was when the start was answered).
   */
  private async answerWithExisting(
    userId: string,
    key: string,
    hash: string,
    now: Date,
  ): Promise<StartResult> {
    const { db } = this.ctx;
    const answer = await db.transaction(async (tx) => {
      const live = await tx.query<{ id: string }>(
        `SELECT id FROM sessions WHERE user_id = $1 AND status IN ${LIVE_STATUSES_SQL} FOR UPDATE`,
        [userId],
      );
      const id = live.rows[0]?.id;
      if (!id) return { kind: 'none' as const };
      await tx.query(
        'DELETE FROM idempotency_records WHERE user_id = $1 AND endpoint = $2 AND idempotency_key = $3 AND expires_at <= $4',
        [userId, START_ENDPOINT, key, now],
      );
      if (!(await this.insertRecord(tx, userId, key, hash, 200, id, now)))
        return { kind: 'recorded' as const };
      return { kind: 'answer' as const, session: await getSession(tx, id) };
    });
    // Stopped since it was seen: start again (it creates a session unless another start did).
    if (answer.kind === 'none') throw new Retry();
    if (answer.kind === 'recorded') {
      const rec = await this.readRecord(db, userId, key);
      if (!rec) throw new Retry();
      return this.replay(rec, hash);
    }
    if (!answer.session) throw new Retry();
    return { statusCode: 200, session: toApiSession(answer.session, this.ctx.clock()), replayed: false };
  }

  private async resolveRegion(
    pref: string,
  ): Promise<{ region: string; image_id: string; default_instance_type: string }> {
    const res = await this.ctx.db.query<{ region: string; image_id: string; default_instance_type: string }>(
      'SELECT region, image_id, default_instance_type FROM relay_manifests ORDER BY region',
    );
    if (res.rows.length === 0) throw new ApiError('unavailable', 'no relay region is configured');
    if (pref === 'auto') {
      return res.rows.find((r) => r.region === this.defaultRegion) ?? res.rows[0]!;
    }
    const m = res.rows.find((r) => r.region === pref);
    if (!m) {
      throw new ApiError('invalid_request', `unknown region "${pref}"`, {
        field: 'region_preference',
        regions: res.rows.map((r) => r.region),
      });
    }
    return m;
  }

  /** `GET /relay/active`, from the live session read with the request's authentication. */
  activeView(live: SessionRow | null): RelaySession | null {
    return live ? toApiSession(live, this.ctx.clock()) : null;
  }

  async stop(userId: string, body: RelayStopRequest): Promise<RelayStopResponse> {
    const s = await getSession(this.ctx.db, body.session_id);
    if (!s || s.user_id !== userId)
      throw new ApiError('not_found', 'no such session', { session_id: body.session_id });
    if (s.status !== 'stopped') await stopSession(this.ctx, s.id, body.reason);
    const after = await getSession(this.ctx.db, s.id);
    return {
      session_id: s.id,
      status: 'stopped',
      stopped_at: (after?.stopped_at ?? this.now()).toISOString(),
    };
  }

  async manifest(): Promise<RelayManifestResponse> {
    const res = await this.ctx.db.query<{
      region: string;
      image_id: string;
      default_instance_type: string;
      updated_at: Date;
    }>('SELECT region, image_id, default_instance_type, updated_at FROM relay_manifests ORDER BY region');
    if (res.rows.length === 0) throw new ApiError('unavailable', 'no relay region is configured');
    return {
      regions: res.rows.map((r) => ({
        region: r.region,
        ami_id: r.image_id,
        default_instance_type: r.default_instance_type,
        updated_at: r.updated_at.toISOString(),
      })),
    };
  }

  /**
   * `GET /usage/current`. `spent` is what the authentication statement summed over the user's stored
   * cycle; when that cycle has already ended (its roll-over not yet written by the usage job), the
   * current cycle is summed here instead.
   */
  async usage(user: UserRow, spent: { consumedSeconds: number; at: Date }): Promise<UsageCurrentResponse> {
    const stored = { start: user.cycle_start_at, end: user.cycle_end_at };
    const u =
      spent.at.getTime() < stored.end.getTime()
        ? summarizeUsage(user, stored, spent.consumedSeconds)
        : await usageSummary(this.ctx.db, user, spent.at);
    return {
      plan_tier: user.plan_tier,
      plan_status: user.plan_status,
      cycle_start: u.cycleStart.toISOString(),
      cycle_end: u.cycleEnd.toISOString(),
      included_seconds: u.includedSeconds,
      consumed_seconds: u.consumedSeconds,
      remaining_seconds: u.remainingSeconds,
      overage_seconds: u.overageSeconds,
    };
  }

  /**
   * A relay's heartbeat. The credential identifies the relay instance; the report must be about that
   * instance's session. Drives activation and grace (docs/reference/api.md, `POST /relay/health`).
   *
   * The first report of a relay whose launch is not recorded (its provisioning process died, or has
   * not finished) adopts it: the provider is asked about the instance the report names, and when it
   * launched that instance for the credential's session, its id and addresses are recorded from the
   * provider's records, never from the report, and the session becomes active.
   */
  async health(credential: string, report: RelayHealthReport): Promise<void> {
    const { db } = this.ctx;
    const inst = (
      await db.query<{
        id: string;
        session_id: string;
        region: string;
        provider_instance_id: string | null;
        public_ip: string | null;
      }>(
        `SELECT id, session_id, region, provider_instance_id, host(public_ip) AS public_ip
         FROM relay_instances WHERE credential_hash = $1`,
        [sha256Hex(credential)],
      )
    ).rows[0];
    if (!inst) throw new ApiError('unauthorized', 'unknown relay credential');
    if (inst.session_id !== report.session_id) {
      throw new ApiError('forbidden', 'this relay credential belongs to another session');
    }
    if (inst.provider_instance_id && inst.provider_instance_id !== report.instance_id) {
      throw new ApiError('forbidden', 'this relay credential belongs to another instance');
    }
    const located = inst.public_ip ? null : await this.locateReporter(inst, report.instance_id);
    const now = this.now();
    const userId = await db.transaction(async (tx) => {
      const s = await lockSession(tx, report.session_id);
      if (!s || s.status === 'stopped') {
        throw new ApiError('not_found', 'the session is stopped', { session_id: report.session_id });
      }
      await tx.query(
        `INSERT INTO relay_health_events (session_id, relay_instance_id, observed_at, received_at, ingest_active,
           egress_active, session_uptime_seconds, payload_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          s.id,
          inst.id,
          new Date(report.observed_at),
          now,
          report.ingest_active,
          report.egress_active,
          report.session_uptime_seconds,
          JSON.stringify({ links: report.links, bonded: report.bonded }),
        ],
      );
      const addressed = await tx.query<{ public_ip: string | null }>(
        `UPDATE relay_instances SET last_health_at = $2,
           state = CASE WHEN state = 'provisioning' THEN 'running' ELSE state END
         WHERE id = $1 RETURNING host(public_ip) AS public_ip`,
        [inst.id, now],
      );
      if (s.status === 'provisioning' && !addressed.rows[0]?.public_ip) {
        // The launch is not recorded: adopt the relay if its provider vouched for it. Otherwise an
        // active session would carry no addresses, so the launch's owner activates it later.
        if (located && (await recordLaunch(tx, s, inst.id, located, now)) !== 'duplicate') {
          await recordSessionEvent(tx, s.id, 'relay_adopted', now, {
            source: 'health_report',
            instance_id: located.instance_id,
          });
        }
      } else if (s.status === 'provisioning') {
        assertTransition(s.status, 'active');
        await tx.query(
          `UPDATE sessions SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1`,
          [s.id, now],
        );
      } else if (s.status === 'active' && !report.ingest_active) {
        assertTransition(s.status, 'grace');
        await tx.query(
          `UPDATE sessions SET status = 'grace', grace_started_at = $2, updated_at = $2 WHERE id = $1`,
          [s.id, now],
        );
      } else if (s.status === 'grace' && report.ingest_active) {
        assertTransition(s.status, 'active');
        await tx.query(
          `UPDATE sessions SET status = 'active', grace_started_at = NULL, updated_at = $2 WHERE id = $1`,
          [s.id, now],
        );
      }
      return s.user_id;
    });
    this.ctx.userChanged(userId);
  }

  /**
   * The instance a report names, as its provider knows it, when the provider launched it for the
   * credential's session; else null (a provider error too: the report is still taken).
   */
  private async locateReporter(
    inst: { session_id: string; region: string },
    instanceId: string,
  ): Promise<LocatedRelay | null> {
    try {
      const found = await this.ctx.provider.locate(instanceId, inst.region);
      return found && found.instance_id === instanceId && found.session_id === inst.session_id ? found : null;
    } catch (err) {
      this.ctx.log.warn(
        { session: inst.session_id, instance: instanceId, err: (err as Error).message },
        'could not look up the reporting relay; it is adopted at a later report',
      );
      return null;
    }
  }
}
