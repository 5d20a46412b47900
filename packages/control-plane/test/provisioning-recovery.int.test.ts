import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/telemy-process.js';
import { runProvisioningRecovery } from '../src/jobs/provisioning-recovery.js';
import { runJobNow } from '../src/jobs/scheduler.js';
import type { RelayProvisionRequest } from '../src/providers/types.js';
import { sessionEvents } from '../src/store/session-events.js';
import {
  activeSession,
  BACKENDS,
  type Backend,
  firstHealthReportBody,
  type Harness,
  makeHarness,
  openBackend,
} from './harness.js';

/** A promise a test opens when it wants: holds a fake launch at one of its steps. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { opened, open };
}

describe.each(BACKENDS)('relay adoption and provisioning recovery on %s', (kind) => {
  let backend: Backend;
  let h: Harness;
  const LEASE = 12;
  beforeAll(async () => {
    backend = await openBackend(kind);
    h = await makeHarness(backend.db, { timers: { provisioningLeaseSeconds: LEASE } });
  });
  afterAll(async () => {
    await h?.close();
    await backend?.close();
  });

  const row = async (sid: string) =>
    (
      await h.db.query<{
        status: string;
        stop_reason: string | null;
        provider_instance_id: string | null;
        public_ip: string | null;
        srt_port: number | null;
        state: string;
      }>(
        `SELECT s.status, s.stop_reason, r.provider_instance_id, host(r.public_ip) AS public_ip, r.srt_port, r.state
         FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id WHERE s.id = $1`,
        [sid],
      )
    ).rows[0];
  const kinds = async (sid: string) => (await sessionEvents(h.db, sid)).map((e) => e.kind);
  const recover = () => runProvisioningRecovery(h.app.cp.ctx, new Date(h.now()));
  /** The lease of the session's launch now belongs to a process that no longer renews it. */
  const ownerDies = async (sid: string) => {
    const res = await h.db.query(
      `UPDATE provisioning_leases SET holder = 'cp_dead' WHERE session_id = $1 RETURNING 1`,
      [sid],
    );
    expect(res.rowCount).toBe(1);
  };
  const instancesOf = (sid: string) => [...h.provider.instances.values()].filter((i) => i.session_id === sid);
  /** Starts a session whose first launch is held at `step` until the returned gate opens. */
  const heldStart = async (step: 'beforeLaunch' | 'afterLaunch') => {
    const { token } = await h.newUser();
    const g = gate();
    let reached!: (req: RelayProvisionRequest) => void;
    const atStep = new Promise<RelayProvisionRequest>((r) => {
      reached = r;
    });
    h.provider[step] = async (req) => {
      h.provider[step] = null;
      reached(req);
      await g.opened;
    };
    const res = await h.start(token);
    expect(res.status).toBe(201);
    await atStep;
    return { token, sid: res.body.session_id, release: g.open };
  };

  it("a relay's first health report adopts it from the provider's records while its launch is unrecorded", async () => {
    const { token, sid, release } = await heldStart('afterLaunch');
    const instance = instancesOf(sid)[0]!.instance_id;
    expect((await row(sid))?.public_ip).toBeNull();
    expect(await h.health(sid, { instance_id: instance })).toBe(204);
    expect(await row(sid)).toMatchObject({
      status: 'active',
      provider_instance_id: instance,
      public_ip: '127.0.0.1',
      state: 'running',
    });
    const active = (await h.app.inject({ url: '/api/v1/relay/active', headers: h.headers(token) })).json();
    expect(active.status).toBe('active');
    expect(active.ingest.srt_url).toMatch(/^srt:\/\/127\.0\.0\.1:\d+\?/);
    expect(await kinds(sid)).toEqual(['relay_adopted']);
    // The launch's owner finishes later and records the same relay: nothing torn down.
    release();
    await h.settle();
    expect((await row(sid))?.provider_instance_id).toBe(instance);
    expect(h.provider.deprovisioned).not.toContain(instance);
    expect(await kinds(sid)).toEqual(['relay_adopted']);
    await h.stop(token, sid);
  });

  it('a report naming an instance its provider does not vouch for records nothing from it', async () => {
    const other = await activeSession(h, (await h.newUser()).token);
    const otherInstance = instancesOf(other)[0]!.instance_id;
    const { token, sid, release } = await heldStart('afterLaunch');
    // Another session's instance, and one nobody launched: the report is taken, nothing adopted.
    expect(await h.health(sid, { instance_id: otherInstance })).toBe(204);
    expect(await h.health(sid, { instance_id: 'i-made-up' })).toBe(204);
    expect(await row(sid)).toMatchObject({
      status: 'provisioning',
      provider_instance_id: null,
      public_ip: null,
    });
    release();
    await h.settle();
    expect((await row(sid))?.status).toBe('active');
    expect((await row(sid))?.provider_instance_id).toBe(instancesOf(sid)[0]!.instance_id);
    await h.stop(token, sid);
  });

  it('a live owner keeps its provisioning: the recovery leaves it alone', async () => {
    const { token, sid, release } = await heldStart('beforeLaunch');
    h.advance(LEASE - 1);
    expect((await recover()).orphaned).toBe(0);
    release();
    await h.settle();
    expect(await row(sid)).toMatchObject({ status: 'provisioning', public_ip: '127.0.0.1' });
    expect(await kinds(sid)).toEqual([]);
    await h.stop(token, sid);
    await h.settle();
  });

  it("a dead owner's relay is adopted by the recovery and activated by its next report", async () => {
    const { token, sid, release } = await heldStart('afterLaunch');
    const instance = instancesOf(sid)[0]!.instance_id;
    await ownerDies(sid);
    h.advance(LEASE - 1);
    expect((await recover()).orphaned).toBe(0);
    h.advance(1);
    const res = await recover();
    expect(res).toMatchObject({ orphaned: 1, adopted: [sid], resumed: [], duplicatesTerminated: [] });
    expect(await row(sid)).toMatchObject({
      status: 'provisioning',
      provider_instance_id: instance,
      public_ip: '127.0.0.1',
    });
    const events = await sessionEvents(h.db, sid);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: 'relay_adopted',
      detail: { source: 'recovery', instance_id: instance, previous_holder: 'cp_dead', reason: 'owner_lost' },
    });
    expect(await h.health(sid, { instance_id: instance })).toBe(204);
    expect((await row(sid))?.status).toBe('active');
    // Nothing left to recover; the owner, were it only slow, finds its relay adopted and keeps it.
    expect((await recover()).orphaned).toBe(0);
    release();
    await h.settle();
    expect(h.provider.deprovisioned).not.toContain(instance);
    expect(instancesOf(sid)).toHaveLength(1);
    await h.stop(token, sid);
  });

  it('a dead owner that launched nothing: the launch is resumed with a new credential, one relay results', async () => {
    const { token, sid, release } = await heldStart('beforeLaunch');
    const first = h.provider.agentFor(sid)!.relay_credential;
    await ownerDies(sid);
    h.advance(LEASE);
    const res = await recover();
    expect(res).toMatchObject({ orphaned: 1, adopted: [], resumed: [sid] });
    const { value: instance } = await eventually(() => instancesOf(sid)[0]?.instance_id, 10_000);
    const second = h.provider.agentFor(sid)!.relay_credential;
    expect(second).not.toBe(first);
    expect(h.provider.provisioned.filter((p) => p.session_id === sid).map((p) => p.attempt)).toEqual([1, 2]);
    await eventually(async () => (await row(sid))?.public_ip, 10_000);
    // The dead launch's credential no longer opens anything; the new relay's does.
    const stale = await h.app.inject({
      method: 'POST',
      url: '/api/v1/relay/health',
      headers: { authorization: `Relay ${first}` },
      payload: firstHealthReportBody(sid, instance, h.now()),
    });
    expect(stale.statusCode).toBe(401);
    expect(await h.health(sid, { instance_id: instance })).toBe(204);
    expect(await row(sid)).toMatchObject({ status: 'active', provider_instance_id: instance });
    const events = await sessionEvents(h.db, sid);
    expect(events[0]).toMatchObject({
      kind: 'provisioning_resumed',
      detail: { attempt: 2, previous_holder: 'cp_dead', reason: 'owner_lost' },
    });
    // The first launch was only stalled: it launches late, finds its lease gone, removes its relay.
    release();
    await h.settle();
    expect(instancesOf(sid).map((i) => i.instance_id)).toEqual([instance]);
    expect(await kinds(sid)).toEqual(['provisioning_resumed', 'duplicate_relay_terminated']);
    expect((await row(sid))?.status).toBe('active');
    await h.stop(token, sid);
  });

  it('a provisioning orphaned past the attempts allowed is stopped with the reason recorded', async () => {
    const { sid, release } = await heldStart('beforeLaunch');
    await ownerDies(sid);
    await h.db.query('UPDATE provisioning_leases SET attempt = 3 WHERE session_id = $1', [sid]);
    h.advance(LEASE);
    expect(await recover()).toMatchObject({ abandoned: [sid], resumed: [] });
    expect(await row(sid)).toMatchObject({ status: 'stopped', stop_reason: 'error_recovery' });
    const events = await sessionEvents(h.db, sid);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'provisioning_abandoned',
        detail: expect.objectContaining({ attempts: 3 }),
      }),
    ]);
    release();
    await h.settle();
    expect(instancesOf(sid)).toEqual([]);
  });

  it('the watchdog removes a second relay of a session whose relay is recorded, and records why', async () => {
    const { token } = await h.newUser();
    const sid = await activeSession(h, token);
    const instance = instancesOf(sid)[0]!.instance_id;
    const request = h.provider.provisioned.findLast((p) => p.session_id === sid)!;
    h.provider.instances.set('i-second', {
      instance_id: 'i-second',
      session_id: sid,
      region: 'us-east-1',
      state: 'running',
      request,
    });
    const { result } = (await runJobNow(h.app.cp.ctx, 'watchdog')) as {
      result: { actions: { action: string; id: string }[] };
    };
    expect(result.actions).toContainEqual({ action: 'orphan_terminated', id: 'i-second' });
    expect(h.provider.deprovisioned).toContain('i-second');
    expect(h.provider.deprovisioned).not.toContain(instance);
    expect(await kinds(sid)).toEqual(['duplicate_relay_terminated']);
    expect((await row(sid))?.status).toBe('active');
    await h.stop(token, sid);
  });

  it('a provisioning timeout is recorded with whether the relay ever reported', async () => {
    const { sid } = await heldStart('beforeLaunch').then(async (x) => {
      x.release();
      await h.settle();
      return x;
    });
    h.advance(301);
    await runJobNow(h.app.cp.ctx, 'watchdog');
    expect(await row(sid)).toMatchObject({ status: 'stopped', stop_reason: 'error_recovery' });
    expect(await sessionEvents(h.db, sid)).toEqual([
      expect.objectContaining({
        kind: 'provisioning_timeout',
        detail: { timeout_seconds: 300, relay_reported: false },
      }),
    ]);
  });
});
