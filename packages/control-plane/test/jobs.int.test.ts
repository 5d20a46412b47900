import { describe, expect, it } from 'vitest';
import { runHealthRetention, runIdempotencyCleanup } from '../src/jobs/cleanup.js';
import { JOB_LOCK_KEYS } from '../src/jobs/run-job.js';
import { runJobNow } from '../src/jobs/scheduler.js';
import { runOutageReconciliation, runUsageRollup } from '../src/jobs/usage.js';
import { runWatchdog } from '../src/jobs/watchdog.js';
import { activeSession, BACKENDS, harnessPerSuite } from './harness.js';

describe.each(BACKENDS)('jobs on %s', (kind) => {
  const h = harnessPerSuite(kind);

  const now = () => new Date(h.now());
  const session = async (sid: string) =>
    (
      await h.db.query<{
        status: string;
        stop_reason: string | null;
        state: string;
        duration_seconds: number;
        reconciled_seconds: number;
      }>(
        `SELECT s.status, s.stop_reason, r.state, s.duration_seconds, s.reconciled_seconds
         FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id WHERE s.id = $1`,
        [sid],
      )
    ).rows[0]!;
  const watchdog = async () => {
    const res = await runWatchdog(h.app.cp.ctx, now());
    await h.settle();
    return res.actions;
  };

  describe('usage', () => {
    it('rollup brings running sessions up to now; /usage/current counts the running session without it', async () => {
      const { user, token } = await h.newUser();
      const sid = await activeSession(h, token);
      h.advance(90);
      const live = (await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) })).json();
      expect(live).toMatchObject({
        consumed_seconds: 90,
        remaining_seconds: 54_000 - 90,
        overage_seconds: 0,
      });
      await runUsageRollup(h.app.cp.ctx, now());
      expect((await session(sid)).duration_seconds).toBe(90);
      const rec = await h.db.query(
        'SELECT measured_seconds, billable_seconds, overage_seconds FROM usage_records WHERE user_id = $1',
        [user.id],
      );
      expect(rec.rows).toEqual([{ measured_seconds: 90, billable_seconds: 90, overage_seconds: 0 }]);
      h.advance(31);
      await h.stop(token, sid);
      expect((await session(sid)).duration_seconds).toBe(121);
      const fin = await h.db.query('SELECT measured_seconds FROM usage_records WHERE user_id = $1', [
        user.id,
      ]);
      expect(fin.rows).toEqual([{ measured_seconds: 121 }]);
    });

    it('overage on a tier that allows it is recorded beyond the Time Bank', async () => {
      const { user, token } = await h.newUser({ plan: 'pro' });
      await h.db.query('UPDATE users SET included_seconds = 100 WHERE id = $1', [user.id]);
      const sid = await activeSession(h, token);
      h.advance(150);
      await h.health(sid);
      await runUsageRollup(h.app.cp.ctx, now());
      const rec = await h.db.query(
        'SELECT billable_seconds, overage_seconds FROM usage_records WHERE session_id = $1',
        [sid],
      );
      expect(rec.rows).toEqual([{ billable_seconds: 150, overage_seconds: 50 }]);
      const usage = (await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) })).json();
      expect(usage).toMatchObject({ consumed_seconds: 150, remaining_seconds: 0, overage_seconds: 50 });
      await h.stop(token, sid);
    });

    it('reconciliation writes one adjustment per gap from the maximum reported uptime, idempotently', async () => {
      const { user, token } = await h.newUser();
      const started = await h.start(token);
      const sid = started.body.session_id;
      await h.settle();
      // The relay served 50 s before the control plane heard from it (an outage at start).
      await h.health(sid, { session_uptime_seconds: 50 });
      h.advance(100);
      await h.health(sid, { session_uptime_seconds: 150 });
      await h.health(sid, {
        session_uptime_seconds: 120,
        observed_at: new Date(h.now() - 30_000).toISOString(),
      });
      await h.stop(token, sid);
      const first = await runOutageReconciliation(h.app.cp.ctx, now());
      expect(first.adjustments).toBeGreaterThanOrEqual(1);
      const again = await runOutageReconciliation(h.app.cp.ctx, now());
      h.advance(120);
      const third = await runJobNow(h.app.cp.ctx, 'outage_reconciliation');
      expect(third.status).toBe('ok');
      const adj = await h.db.query(
        'SELECT adjustment_seconds, reason, source FROM billing_adjustments WHERE session_id = $1',
        [sid],
      );
      expect(adj.rows).toEqual([
        { adjustment_seconds: 50, reason: 'outage_reconciliation', source: 'relay_health' },
      ]);
      expect(again.adjustments).toBe(0);
      expect(await session(sid)).toMatchObject({ duration_seconds: 100, reconciled_seconds: 50 });
      const rec = await h.db.query(
        'SELECT measured_seconds, reconciled_seconds, billable_seconds FROM usage_records WHERE session_id = $1',
        [sid],
      );
      expect(rec.rows).toEqual([{ measured_seconds: 100, reconciled_seconds: 50, billable_seconds: 150 }]);
      const usage = (await h.app.inject({ url: '/api/v1/usage/current', headers: h.headers(token) })).json();
      expect(usage.consumed_seconds).toBe(150);
      expect(user.id).toBe(started.body.user_id);
    });
  });

  describe('watchdog', () => {
    it('provisioning past its timeout → stopped (error_recovery) and deprovisioned', async () => {
      const { token } = await h.newUser();
      const sid = (await h.start(token)).body.session_id;
      await h.settle();
      const instance = h.provider.instanceFor(sid)!;
      h.advance(299);
      await watchdog();
      expect((await session(sid)).status).toBe('provisioning');
      h.advance(2);
      const actions = await watchdog();
      expect(actions).toContainEqual({ action: 'provisioning_timeout', id: sid });
      expect(await session(sid)).toMatchObject({
        status: 'stopped',
        stop_reason: 'error_recovery',
        state: 'terminated',
      });
      expect(h.provider.deprovisioned).toContain(instance);
    });

    it('active without health for 30 s → grace; for 180 s → stopped, instance error then torn down', async () => {
      const { token } = await h.newUser();
      const sid = await activeSession(h, token);
      const instance = h.provider.instanceFor(sid)!;
      h.advance(31);
      expect(await watchdog()).toContainEqual({ action: 'grace_entered', id: sid });
      expect((await session(sid)).status).toBe('grace');
      h.advance(150);
      const actions = await watchdog();
      expect(actions).toContainEqual({ action: 'health_lost', id: sid });
      expect(await session(sid)).toMatchObject({
        status: 'stopped',
        stop_reason: 'error_recovery',
        duration_seconds: 181,
      });
      expect(h.provider.deprovisioned).toContain(instance);
    });

    it('grace past its window → stopped (grace_expired)', async () => {
      const { token } = await h.newUser();
      const sid = await activeSession(h, token);
      await h.health(sid, { ingest_active: false });
      expect((await session(sid)).status).toBe('grace');
      for (let t = 0; t < 600; t += 120) {
        h.advance(120);
        await h.health(sid, { ingest_active: false });
        if (t + 120 < 600) await watchdog();
      }
      expect((await session(sid)).status).toBe('grace');
      h.advance(1);
      expect(await watchdog()).toContainEqual({ action: 'grace_expired', id: sid });
      expect(await session(sid)).toMatchObject({ status: 'stopped', stop_reason: 'grace_expired' });
    });

    it('max session reached → stopped (max_session_reached)', async () => {
      const { token } = await h.newUser();
      const sid = await activeSession(h, token);
      await h.db.query('UPDATE sessions SET max_session_seconds = 60 WHERE id = $1', [sid]);
      h.advance(59);
      await h.health(sid);
      await watchdog();
      expect((await session(sid)).status).toBe('active');
      h.advance(1);
      expect(await watchdog()).toContainEqual({ action: 'max_session', id: sid });
      expect(await session(sid)).toMatchObject({
        status: 'stopped',
        stop_reason: 'max_session_reached',
        duration_seconds: 60,
      });
    });

    it('Time Bank exhausted on a tier without overage → stopped; with overage → kept', async () => {
      const starter = await h.newUser();
      const pro = await h.newUser({ plan: 'pro' });
      await h.db.query('UPDATE users SET included_seconds = 100 WHERE id = ANY($1::text[])', [
        [starter.user.id, pro.user.id],
      ]);
      const s1 = await activeSession(h, starter.token);
      const s2 = await activeSession(h, pro.token);
      h.advance(100);
      await h.health(s1);
      await h.health(s2);
      const actions = await watchdog();
      expect(actions).toContainEqual({ action: 'time_bank_exhausted', id: s1 });
      expect(await session(s1)).toMatchObject({ status: 'stopped', stop_reason: 'time_bank_exhausted' });
      expect((await session(s2)).status).toBe('active');
      await h.stop(pro.token, s2);
    });

    it('orphan instances (tagged ours, unknown to the database) are terminated; known ones are kept', async () => {
      const { token } = await h.newUser();
      const sid = await activeSession(h, token);
      const instance = h.provider.instanceFor(sid)!;
      const orphan = { instance_id: 'i-orphan', session_id: null, region: 'us-east-1', state: 'running' };
      const stray = { instance_id: 'i-stray', session_id: 'ses_gone', region: 'eu-west-1', state: 'running' };
      const request = h.provider.provisioned[0]!;
      h.provider.instances.set(orphan.instance_id, { ...orphan, request });
      h.provider.instances.set(stray.instance_id, { ...stray, request });
      const actions = await watchdog();
      expect(actions).toContainEqual({ action: 'orphan_terminated', id: 'i-orphan' });
      expect(actions).toContainEqual({ action: 'orphan_terminated', id: 'i-stray' });
      expect(h.provider.deprovisioned).not.toContain(instance);
      expect((await session(sid)).status).toBe('active');
      await h.stop(token, sid);
    });

    it('a failed deprovision is retried until it succeeds; the session is stopped meanwhile', async () => {
      const { token } = await h.newUser();
      const sid = await activeSession(h, token);
      const instance = h.provider.instanceFor(sid)!;
      h.provider.failDeprovision = new Error('RequestLimitExceeded');
      try {
        await h.stop(token, sid);
        await h.settle();
        expect(await session(sid)).toMatchObject({ status: 'stopped', state: 'terminating' });
        await watchdog();
        expect((await session(sid)).state).toBe('terminating');
      } finally {
        h.provider.failDeprovision = null;
      }
      expect(await watchdog()).toContainEqual({
        action: 'deprovision_retry',
        id: expect.stringMatching(/^rly_/),
      });
      expect((await session(sid)).state).toBe('terminated');
      expect(h.provider.deprovisioned).toContain(instance);
    });
  });

  describe('housekeeping and locking', () => {
    it('idempotency cleanup and health retention delete only what expired', async () => {
      const { user, token } = await h.newUser();
      const sid = await activeSession(h, token);
      await h.stop(token, sid);
      h.advance(3599);
      await runIdempotencyCleanup(h.app.cp.ctx, now());
      const count = async (sql: string) => (await h.db.query(sql, [user.id])).rows.length;
      expect(await count('SELECT 1 FROM idempotency_records WHERE user_id = $1')).toBe(1);
      h.advance(2);
      await runIdempotencyCleanup(h.app.cp.ctx, now());
      expect(await count('SELECT 1 FROM idempotency_records WHERE user_id = $1')).toBe(0);
      const events =
        'SELECT 1 FROM relay_health_events e JOIN sessions s ON s.id = e.session_id WHERE s.user_id = $1';
      expect(await count(events)).toBe(1);
      // The event was observed 3601 s ago; the retention window is 30 days.
      h.advance(30 * 86_400 - 3601 - 10);
      await runHealthRetention(h.app.cp.ctx, now());
      expect(await count(events)).toBe(1);
      h.advance(11);
      const res = await runHealthRetention(h.app.cp.ctx, now());
      expect(res.deleted).toBeGreaterThanOrEqual(1);
      expect(await count(events)).toBe(0);
    });

    it('a job whose advisory lock is held elsewhere is skipped, and every run is counted and timed', async () => {
      const held = await h.db.withAdvisoryLock(JOB_LOCK_KEYS.watchdog, () =>
        runJobNow(h.app.cp.ctx, 'watchdog'),
      );
      expect(held).toEqual({ acquired: true, value: { status: 'skipped' } });
      expect((await runJobNow(h.app.cp.ctx, 'watchdog')).status).toBe('ok');
      const metrics = (await h.app.inject('/metrics')).body;
      expect(metrics).toMatch(/aegis_job_runs_total\{job="watchdog",status="skipped"\} 1/);
      expect(metrics).toMatch(/aegis_job_runs_total\{job="watchdog",status="ok"\} [1-9]/);
      expect(metrics).toMatch(/aegis_job_duration_seconds_count\{job="watchdog"\} [2-9]/);
      expect(metrics).toMatch(/aegis_watchdog_actions_total\{action="health_lost"\} [1-9]/);
    });
  });
});
