import type { RelaySession } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { BACKENDS, firstHealthReportBody, harnessPerSuite, makeHarness, START_BODY } from './harness.js';

describe.each(BACKENDS)('session lifecycle on %s', (kind) => {
  const h = harnessPerSuite(kind);

  const status = async (sid: string) =>
    (await h.db.query<{ status: string }>('SELECT status FROM sessions WHERE id = $1', [sid])).rows[0]
      ?.status;

  describe('idempotency', () => {
    it('same key + same body → original status and the current session (not a stale snapshot)', async () => {
      const { token } = await h.newUser();
      const key = crypto.randomUUID();
      const first = await h.start(token, START_BODY, key);
      expect(first.status).toBe(201);
      expect(first.body.status).toBe('provisioning');
      await h.settle();
      expect(await h.health(first.body.session_id)).toBe(204);
      h.advance(30);
      // Same meaning, other key order: still the same request.
      const reordered = {
        client_context: { requested_by: 'dashboard', mode: 'irl', obs_connected: true },
        region_preference: 'auto',
      };
      const replay = await h.start(token, reordered, key);
      expect(replay.status).toBe(201);
      expect(replay.body.session_id).toBe(first.body.session_id);
      expect(replay.body.status).toBe('active');
      expect(replay.body.usage.duration_seconds).toBe(30);
      expect(replay.body.relay.public_ip).toBe('127.0.0.1');
    });

    it('same key + different body → 409 idempotency_mismatch; another key → 200 with the live session', async () => {
      const { token } = await h.newUser();
      const key = crypto.randomUUID();
      const first = await h.start(token, START_BODY, key);
      const other = await h.start(token, { ...START_BODY, region_preference: 'eu-west-1' }, key);
      expect(other.status).toBe(409);
      expect((other.body as unknown as { error: { code: string } }).error.code).toBe('idempotency_mismatch');
      const second = await h.start(token, START_BODY, crypto.randomUUID());
      expect(second.status).toBe(200);
      expect(second.body.session_id).toBe(first.body.session_id);
      await h.settle();
      const n = await h.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1',
        [first.body.user_id],
      );
      expect(n.rows[0]?.n).toBe(1);
    });

    it('a key older than the record lifetime starts afresh', async () => {
      const { token } = await h.newUser();
      const key = crypto.randomUUID();
      const first = await h.start(token, START_BODY, key);
      await h.settle();
      await h.stop(token, first.body.session_id);
      const soon = await h.start(token, START_BODY, key);
      expect(soon.body.session_id).toBe(first.body.session_id);
      expect(soon.body.status).toBe('stopped');
      h.advance(3601);
      const later = await h.start(token, START_BODY, key);
      expect(later.status).toBe(201);
      expect(later.body.session_id).not.toBe(first.body.session_id);
      await h.settle();
    });

    it('100 concurrent starts with distinct keys → one session, no 5xx, everyone sees it', async () => {
      const { user, token } = await h.newUser();
      const results = await Promise.all(Array.from({ length: 100 }, () => h.start(token)));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(99);
      expect(new Set(results.map((r) => r.body.session_id)).size).toBe(1);
      await h.settle();
      const n = await h.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1',
        [user.id],
      );
      expect(n.rows[0]?.n).toBe(1);
      expect(h.provider.provisioned.filter((p) => p.user_id === user.id)).toHaveLength(1);
    });

    it('a start (fresh key) racing a stop on another replica never answers with a stopped session', async () => {
      // A second replica on the same store, its clock at this one's.
      const other = await makeHarness(h.db);
      other.advance((h.now() - other.now()) / 1000);
      try {
        const { token } = await h.newUser();
        let live: RelaySession | null = null;
        const seen = { stopFirst: 0, startFirst: 0 };
        for (let i = 0; i < 30; i++) {
          if (!live) {
            const fresh = await h.start(token);
            expect(fresh.status).toBe(201);
            live = fresh.body;
          }
          const [starter, stopper] = i % 2 === 0 ? [h, other] : [other, h];
          const [start, stop] = await Promise.all([
            starter.start(token),
            new Promise((r) => setTimeout(r, i % 3)).then(() => stopper.stop(token, live!.session_id)),
          ]);
          expect(stop.statusCode).toBe(200);
          expect([200, 201]).toContain(start.status);
          // The promise: the session in the answer was live when the start was answered.
          expect(start.body.status).not.toBe('stopped');
          expect(start.body.usage.ended_at).toBeNull();
          if (start.status === 200) {
            // Ordered before the stop: the live session, which the stop then ended.
            expect(start.body.session_id).toBe(live.session_id);
            seen.startFirst += 1;
            live = null;
          } else {
            // Ordered after the stop: a new session.
            expect(start.body.session_id).not.toBe(live.session_id);
            seen.stopFirst += 1;
            live = start.body;
          }
        }
        expect(seen.startFirst + seen.stopFirst).toBe(30);
        if (live) await h.stop(token, live.session_id);
        await h.settle();
        await other.settle();
      } finally {
        await other.close();
      }
    });

    it('concurrent replays of one key → one session, one 201 record, no 5xx', async () => {
      const { user, token } = await h.newUser();
      const key = crypto.randomUUID();
      const results = await Promise.all(Array.from({ length: 20 }, () => h.start(token, START_BODY, key)));
      expect(results.every((r) => r.status === 201)).toBe(true);
      expect(new Set(results.map((r) => r.body.session_id)).size).toBe(1);
      await h.settle();
      const n = await h.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM idempotency_records WHERE user_id = $1',
        [user.id],
      );
      expect(n.rows[0]?.n).toBe(1);
    });
  });

  describe('transitions', () => {
    it('provisioning → active on the first health report, active ⇄ grace on ingest, grace → stopped', async () => {
      const { token } = await h.newUser();
      const sid = (await h.start(token)).body.session_id;
      await h.settle();
      expect(await status(sid)).toBe('provisioning');
      expect(await h.health(sid, { ingest_active: false })).toBe(204);
      expect(await status(sid)).toBe('active');
      h.advance(10);
      await h.health(sid, { ingest_active: false });
      expect(await status(sid)).toBe('grace');
      h.advance(100);
      const inGrace = (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) })).json();
      expect(inGrace.status).toBe('grace');
      expect(inGrace.timers.grace_remaining_seconds).toBe(500);
      await h.health(sid, { ingest_active: true });
      expect(await status(sid)).toBe('active');
      await h.health(sid, { ingest_active: false });
      expect(await status(sid)).toBe('grace');
      const instance = h.provider.instanceFor(sid)!;
      const stop = await h.stop(token, sid);
      expect(stop.statusCode).toBe(200);
      expect(await status(sid)).toBe('stopped');
      // A stopped session refuses further reports: the relay takes that as its cue to self-destruct.
      expect(await h.health(sid, { instance_id: instance })).toBe(404);
    });

    it('active → stopped finalises usage at the stop time; provisioning → stopped bills nothing', async () => {
      const { user, token } = await h.newUser();
      const sid = (await h.start(token)).body.session_id;
      await h.settle();
      h.advance(20);
      await h.health(sid);
      h.advance(125);
      await h.stop(token, sid);
      const row = await h.db.query<{ duration_seconds: number; stop_reason: string }>(
        'SELECT duration_seconds, stop_reason FROM sessions WHERE id = $1',
        [sid],
      );
      expect(row.rows[0]).toEqual({ duration_seconds: 125, stop_reason: 'user_requested' });
      const usage = await h.db.query<{ measured_seconds: number; billable_seconds: number }>(
        'SELECT measured_seconds, billable_seconds FROM usage_records WHERE session_id = $1',
        [sid],
      );
      expect(usage.rows).toEqual([{ measured_seconds: 125, billable_seconds: 125 }]);
      h.advance(600);
      const current = (
        await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) })
      ).json();
      expect(current.consumed_seconds).toBe(125);
      const second = (await h.start(token)).body.session_id;
      await h.settle();
      h.advance(50);
      await h.stop(token, second, 'shutdown');
      const s2 = await h.db.query<{ duration_seconds: number }>(
        'SELECT duration_seconds FROM sessions WHERE id = $1',
        [second],
      );
      expect(s2.rows[0]?.duration_seconds).toBe(0);
      expect(
        (await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) })).json()
          .consumed_seconds,
      ).toBe(125);
      const records = await h.db.query('SELECT 1 FROM usage_records WHERE user_id = $1', [user.id]);
      expect(records.rows).toHaveLength(1);
    });

    it('a failed launch stops the session with error_recovery and marks the instance error', async () => {
      const { token } = await h.newUser();
      h.provider.failProvision = new Error('InsufficientInstanceCapacity');
      try {
        const sid = (await h.start(token)).body.session_id;
        await h.settle();
        const row = await h.db.query<{ status: string; stop_reason: string; state: string }>(
          'SELECT s.status, s.stop_reason, r.state FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id WHERE s.id = $1',
          [sid],
        );
        expect(row.rows[0]).toEqual({ status: 'stopped', stop_reason: 'error_recovery', state: 'error' });
        const metrics = (await h.app.inject('/metrics')).body;
        expect(metrics).toMatch(
          /aegis_relay_provision_total\{provider="fake",region="us-east-1",status="error"\} [1-9]/,
        );
      } finally {
        h.provider.failProvision = null;
      }
    });

    it('a launch that finishes after the session was stopped is torn down at once', async () => {
      const { token } = await h.newUser();
      h.provider.provisionDelayMs = 150;
      try {
        const sid = (await h.start(token)).body.session_id;
        await h.stop(token, sid);
        await h.settle();
        const inst = h.provider.provisioned.find((p) => p.session_id === sid);
        expect(inst).toBeDefined();
        expect(h.provider.instanceFor(sid)).toBeUndefined();
        const row = await h.db.query<{ state: string }>(
          'SELECT state FROM relay_instances WHERE session_id = $1',
          [sid],
        );
        expect(row.rows[0]?.state).toBe('terminated');
      } finally {
        h.provider.provisionDelayMs = 0;
      }
    });

    it('a health report that arrives before provision() returns activates the session once the launch is recorded, with its addresses', async () => {
      const { token } = await h.newUser();
      // The launch is held until the report is in (a fixed delay raced the report on a busy machine).
      let launch!: () => void;
      const held = new Promise<void>((r) => {
        launch = r;
      });
      let reached!: () => void;
      const launching = new Promise<void>((r) => {
        reached = r;
      });
      h.provider.beforeLaunch = () => {
        reached();
        return held;
      };
      try {
        const sid = (await h.start(token)).body.session_id;
        await launching;
        const agent = h.provider.agentFor(sid)!;
        const res = await h.app.inject({
          method: 'POST',
          url: '/api/v1/relay/health',
          headers: { authorization: `Relay ${agent.relay_credential}` },
          payload: firstHealthReportBody(sid, 'early-bird', h.now()),
        });
        expect(res.statusCode).toBe(204);
        // No addresses recorded yet: an active session without its URLs would send clients nowhere.
        expect(await status(sid)).toBe('provisioning');
        launch();
        await h.settle();
        expect(await status(sid)).toBe('active');
        const active = (
          await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) })
        ).json() as { ingest: { srt_url: string | null } };
        expect(active.ingest.srt_url).toMatch(/^srt:\/\//);
        const row = await h.db.query<{ provider_instance_id: string; srt_port: number }>(
          'SELECT provider_instance_id, srt_port FROM relay_instances WHERE session_id = $1',
          [sid],
        );
        expect(row.rows[0]?.provider_instance_id).toBe(h.provider.instanceFor(sid));
        expect(row.rows[0]?.srt_port).toBeGreaterThan(0);
      } finally {
        h.provider.beforeLaunch = null;
        launch();
      }
    });
  });
});
