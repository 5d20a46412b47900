import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Session, StopReason, Usage } from '../../src/cloudlink/api-schemas.js';
import { SessionSchema } from '../../src/cloudlink/api-schemas.js';
import {
  type CloudApi,
  CloudLink,
  IrlActivationError,
  type TelemetryConnection,
} from '../../src/cloudlink/cloudlink.js';
import {
  ControlPlaneError,
  type StartRequest,
  type StartResult,
} from '../../src/cloudlink/control-plane-client.js';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';
import type { RelayTelemetryEvents } from '../../src/cloudlink/relay-telemetry.js';
import { relayInputOf } from '../../src/control/relay-view.js';
import {
  captureLogger,
  linkRow,
  PAIR_TOKEN as PAIR,
  sessionBody,
  silent,
  WS_TOKEN,
} from './support/fixtures.js';

const EGRESS_PASS = 'EGRESSPASSEGRESS';
const SRT_URL = `srt://198.51.100.4:9000?mode=caller&passphrase=${PAIR}&latency=2000`;
const OBS_URL = `srt://198.51.100.4:9001?mode=caller&passphrase=${EGRESS_PASS}&latency=2000000`;

function session(status: Session['status'], withRelay = status !== 'provisioning'): Session {
  const relay = {
    relay: {
      instance_id: 'i-1',
      public_ip: '198.51.100.4',
      srt_port: 9000,
      egress_port: 9001,
      ws_url: 'ws://198.51.100.4:7443/telemetry',
    },
    ingest: { srt_url: SRT_URL, obs_source_url: OBS_URL },
  };
  return SessionSchema.parse(
    sessionBody({
      status,
      ...(withRelay ? relay : {}),
      timers: {
        grace_window_seconds: 600,
        max_session_seconds: 57600,
        grace_remaining_seconds: 420,
        max_session_remaining_seconds: 57000,
      },
      usage: { started_at: '2026-11-22T03:00:00.000Z', ended_at: null, duration_seconds: 60 },
      a_field_from_the_future: true,
    }),
  );
}

const USAGE: Usage = {
  plan_tier: 'standard',
  plan_status: 'active',
  cycle_start: '2026-11-01T00:00:00.000Z',
  cycle_end: '2026-12-01T00:00:00.000Z',
  included_seconds: 3600,
  consumed_seconds: 60,
  remaining_seconds: 3540,
  overage_seconds: 0,
};

type ActiveReply = Session | null | Error;

class FakeApi implements CloudApi {
  readonly baseUrl = 'http://cp.test';
  starts: { req: StartRequest; key: string | undefined }[] = [];
  stops: { id: string; reason: StopReason }[] = [];
  activeCalls = 0;
  activeReplies: ActiveReply[] = [];
  lastActive: ActiveReply = null;
  startReply: StartResult | Error = { status: 201, session: session('provisioning'), idempotencyKey: 'k' };
  stopError: Error | null = null;

  async start(req: StartRequest, key?: string): Promise<StartResult> {
    this.starts.push({ req, key });
    if (this.startReply instanceof Error) throw this.startReply;
    return this.startReply;
  }
  async stop(id: string, reason: StopReason) {
    this.stops.push({ id, reason });
    if (this.stopError) throw this.stopError;
    return { session_id: id, status: 'stopped' as const, stopped_at: 'now' };
  }
  async active(): Promise<Session | null> {
    this.activeCalls++;
    const r = this.activeReplies.length > 0 ? this.activeReplies.shift()! : this.lastActive;
    this.lastActive = r;
    if (r instanceof Error) throw r;
    return r;
  }
  async usage(): Promise<Usage> {
    return USAGE;
  }
}

class FakeTelemetry extends EventEmitter<RelayTelemetryEvents> implements TelemetryConnection {
  started = false;
  stopped = false;
  constructor(
    readonly url: string,
    readonly token: string,
  ) {
    super();
  }
  start(): void {
    this.started = true;
  }
  stop(): void {
    this.stopped = true;
  }
}

const unreachable = () =>
  new ControlPlaneError(
    'network',
    'control plane unreachable at http://cp.test (GET /relay/active): ECONNREFUSED',
    {
      code: 'unreachable',
    },
  );

const links: CloudLink[] = [];
afterEach(() => {
  for (const l of links.splice(0)) l.close();
});

function setup(opts: { restoredSessionId?: string; configureFails?: boolean } = {}) {
  const api = new FakeApi();
  const signals: RelaySignal[] = [];
  const telemetries: FakeTelemetry[] = [];
  const configured: string[] = [];
  const obsBroken = { value: opts.configureFails === true };
  const { logger, lines: logLines } = captureLogger();
  const link = new CloudLink({
    api,
    sink: { relaySignal: (s) => signals.push(s) },
    restoredSessionId: opts.restoredSessionId ?? null,
    obsConnected: () => true,
    createTelemetry: (url, token) => {
      const t = new FakeTelemetry(url, token);
      telemetries.push(t);
      return t;
    },
    configureObsSource: async (url) => {
      if (obsBroken.value) throw new Error('OBS scene "LIVE" not found');
      configured.push(url);
    },
    provisioningPollMs: 10,
    sessionPollMs: 30,
    unreachableRetryMs: 20,
    provisioningTimeoutMs: 150,
    logger,
  });
  links.push(link);
  const kinds = () => signals.map((s) => s.kind);
  return { api, link, signals, kinds, telemetries, configured, logLines, obsBroken };
}

describe('CloudLink reconnect-first startup', () => {
  it('resumes an active session and connects telemetry without ever calling start', async () => {
    const { api, link, signals, telemetries, configured } = setup({ restoredSessionId: 'ses_1' });
    api.activeReplies = [session('active')];
    await link.init();
    expect(api.starts).toHaveLength(0);
    expect(signals[0]).toEqual({
      kind: 'session_accepted',
      session_id: 'ses_1',
      status: 'active',
      restored: true,
    });
    expect(telemetries).toHaveLength(1);
    expect(telemetries[0]).toMatchObject({
      url: 'ws://198.51.100.4:7443/telemetry',
      token: WS_TOKEN,
      started: true,
    });
    telemetries[0]!.emit('connected');
    expect(signals.at(-1)).toEqual({ kind: 'telemetry_connected', session_id: 'ses_1' });
    expect(link.currentSessionId()).toBe('ses_1');
    await expect.poll(() => configured).toEqual([OBS_URL]);
  });

  it('reports grace with the remaining window when the session is found in grace', async () => {
    const { api, link, signals } = setup();
    api.activeReplies = [session('grace')];
    await link.init();
    expect(signals.map((s) => s.kind)).toEqual(['session_accepted', 'grace']);
    expect(signals[1]).toEqual({ kind: 'grace', session_id: 'ses_1', remaining_seconds: 420 });
  });

  it('stays in studio (no signals, no start) when there is no session (204)', async () => {
    const { api, link, signals, telemetries } = setup({ restoredSessionId: 'ses_old' });
    await link.init();
    await new Promise((r) => setTimeout(r, 60));
    expect(api.starts).toHaveLength(0);
    expect(signals).toEqual([]);
    expect(telemetries).toHaveLength(0);
    expect(link.currentSessionId()).toBeNull();
    expect(link.snapshot().session).toBeNull();
    expect(link.snapshot().time_bank).toEqual(USAGE);
    expect(api.activeCalls).toBe(1);
  });

  it('with the control plane down: notice, no start, and the session is resumed once it answers', async () => {
    const { api, link, signals } = setup();
    api.activeReplies = [unreachable(), unreachable(), session('active')];
    await link.init();
    const snap = link.snapshot();
    expect(snap.control_plane.reachable).toBe(false);
    expect(snap.control_plane.notice).toMatch(/Control plane unreachable/);
    await expect.poll(() => link.currentSessionId(), { timeout: 2_000 }).toBe('ses_1');
    expect(signals[0]).toMatchObject({ kind: 'session_accepted', restored: true });
    expect(api.starts).toHaveLength(0);
    expect(link.snapshot().control_plane).toMatchObject({ reachable: true, notice: null });
  });
});

describe('CloudLink IRL start/stop', () => {
  it('start → provisioning polls → active → telemetry, with one idempotency key for the intent', async () => {
    const { api, link, kinds, telemetries, configured } = setup();
    api.activeReplies = [session('provisioning'), session('provisioning'), session('active')];
    const s = await link.startIrl('dashboard');
    expect(s.status).toBe('provisioning');
    expect(api.starts).toHaveLength(1);
    expect(api.starts[0]?.req).toEqual({
      region_preference: 'auto',
      requested_by: 'dashboard',
      obs_connected: true,
    });
    expect(api.starts[0]?.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
    expect(kinds()).toEqual(['session_accepted']);
    expect(telemetries).toHaveLength(0);

    await expect.poll(() => telemetries.length, { timeout: 2_000 }).toBe(1);
    telemetries[0]!.emit('connected');
    expect(kinds()).toEqual(['session_accepted', 'telemetry_connected']);
    await expect.poll(() => configured).toEqual([OBS_URL]);
    expect(api.starts).toHaveLength(1);
  });

  it('concurrent and repeated starts never create a second session', async () => {
    const { api, link } = setup();
    api.lastActive = session('provisioning');
    const [a, b] = await Promise.all([link.startIrl('dashboard'), link.startIrl('chatbridge')]);
    expect(a).toBe(b);
    await link.startIrl('cli');
    expect(api.starts).toHaveLength(1);
  });

  it('a refused start becomes session_denied with the server reason and throws', async () => {
    const { api, link, signals } = setup();
    api.startReply = new ControlPlaneError(
      'http',
      'control plane POST /api/v1/relay/start failed: forbidden: no',
      {
        status: 403,
        code: 'forbidden',
        details: { reason: 'time_bank_exhausted' },
      },
    );
    const err = await link.startIrl('dashboard').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IrlActivationError);
    expect((err as IrlActivationError).reason).toBe('time_bank_exhausted');
    expect(signals).toEqual([
      {
        kind: 'session_denied',
        reason: 'time_bank_exhausted',
        message: expect.stringContaining('forbidden'),
      },
    ]);
    expect(link.currentSessionId()).toBeNull();
    expect(link.snapshot().detail).toMatch(/^IRL start refused: .*forbidden/);
  });

  it('an unreachable control plane refuses the activation with a clear notice', async () => {
    const { api, link, signals } = setup();
    api.startReply = unreachable();
    await expect(link.startIrl('chatbridge')).rejects.toMatchObject({ reason: 'control_plane_unreachable' });
    expect(signals[0]).toMatchObject({ kind: 'session_denied', reason: 'control_plane_unreachable' });
    expect(link.snapshot().control_plane.notice).toMatch(/IRL cannot be started right now/);
  });

  it('polls provisioning quickly at first and backs off once the launch takes long', async () => {
    let now = 0;
    const api = new FakeApi();
    api.lastActive = session('provisioning');
    const cl = new CloudLink({
      api,
      sink: { relaySignal: () => {} },
      now: () => now,
      provisioningPollMs: 10,
      logger: silent,
    });
    links.push(cl);
    await cl.startIrl('dashboard');
    await new Promise((r) => setTimeout(r, 150));
    const fast = api.activeCalls;
    expect(fast).toBeGreaterThanOrEqual(5);
    now = 15_000; // a slow cloud launch: polls now 2 s apart
    await new Promise((r) => setTimeout(r, 40));
    const atSlowdown = api.activeCalls;
    await new Promise((r) => setTimeout(r, 300));
    expect(api.activeCalls - atSlowdown).toBeLessThanOrEqual(1);
  });

  it('provisioning that never becomes active times out and stops the session', async () => {
    const { api, link, kinds } = setup();
    api.lastActive = session('provisioning');
    await link.startIrl('dashboard');
    await expect.poll(() => kinds(), { timeout: 2_000 }).toContain('session_timeout');
    expect(api.stops).toEqual([{ id: 'ses_1', reason: 'error_recovery' }]);
    expect(link.currentSessionId()).toBeNull();
  });

  it('stopIrl stops on the control plane, closes telemetry and ends the session', async () => {
    const { api, link, signals, telemetries } = setup();
    api.activeReplies = [session('active')];
    await link.init();
    telemetries[0]!.emit('connected');
    await link.stopIrl();
    expect(api.stops).toEqual([{ id: 'ses_1', reason: 'user_requested' }]);
    expect(telemetries[0]!.stopped).toBe(true);
    expect(signals.slice(-2)).toEqual([
      { kind: 'telemetry_disconnected', session_id: 'ses_1', reason: 'session ended' },
      { kind: 'session_ended', session_id: 'ses_1', reason: 'user_requested' },
    ]);
    expect(link.currentSessionId()).toBeNull();
  });

  it('a failed stop keeps the session', async () => {
    const { api, link } = setup();
    api.activeReplies = [session('active')];
    await link.init();
    api.stopError = unreachable();
    await expect(link.stopIrl()).rejects.toThrow(/unreachable/);
    expect(link.currentSessionId()).toBe('ses_1');
  });

  it('a session that disappears from the control plane ends locally', async () => {
    const { api, link, kinds } = setup();
    api.activeReplies = [session('active'), null];
    await link.init();
    await expect.poll(() => kinds(), { timeout: 2_000 }).toContain('session_ended');
    expect(link.currentSessionId()).toBeNull();
    expect(link.snapshot().detail).toBe('the control plane ended the relay session');
  });

  it('keeps the session and telemetry while the control plane is down mid-session', async () => {
    const { api, link, telemetries, kinds } = setup();
    api.activeReplies = [session('active')];
    api.lastActive = unreachable();
    await link.init();
    api.lastActive = unreachable();
    await expect.poll(() => link.snapshot().control_plane.reachable, { timeout: 2_000 }).toBe(false);
    expect(link.currentSessionId()).toBe('ses_1');
    expect(telemetries[0]!.stopped).toBe(false);
    expect(kinds()).not.toContain('session_ended');
  });
});

describe('CloudLink telemetry signals', () => {
  async function active() {
    const ctx = setup();
    ctx.api.activeReplies = [session('active')];
    await ctx.link.init();
    const t = ctx.telemetries[0]!;
    t.emit('connected');
    ctx.signals.length = 0;
    return { ...ctx, t };
  }

  it('forwards stalled/resumed pushes synchronously, before the emitter returns', async () => {
    const { t, signals } = await active();
    t.emit('ingest', { type: 'ingest', state: 'stalled', link_id: 'l1', at: '2026-11-22T03:00:00Z' });
    expect(signals).toEqual([
      {
        kind: 'ingest_stalled',
        session_id: 'ses_1',
        link_id: 'l1',
        at: '2026-11-22T03:00:00Z',
        received_at: expect.any(Number),
      },
    ]);
    t.emit('ingest', { type: 'ingest', state: 'resumed', link_id: 'l1', at: '2026-11-22T03:00:02Z' });
    expect(signals[1]).toMatchObject({ kind: 'ingest_resumed', link_id: 'l1', at: '2026-11-22T03:00:02Z' });
  });

  it('signals ingest active/inactive on changes only, and keeps the latest links and bonded', async () => {
    const { t, signals, link } = await active();
    const stats = (ingest_active: boolean, kbps: number) => ({
      type: 'stats' as const,
      ingest_active,
      egress_clients: 1,
      links: [linkRow(kbps)],
      bonded: { total_bitrate_kbps: kbps, active_link_count: 1, health: 'healthy' as const },
      forwarded_link_id: 'l1',
    });
    t.emit('stats', stats(true, 2000));
    t.emit('stats', stats(true, 2100));
    t.emit('stats', stats(false, 0));
    t.emit('stats', stats(false, 0));
    t.emit('stats', stats(true, 1900));
    expect(signals.map((s) => s.kind)).toEqual(['ingest_active', 'ingest_inactive', 'ingest_active']);
    const snap = link.snapshot();
    expect(snap.links[0]).toMatchObject({ link_id: 'l1', bitrate_kbps: 1900 });
    expect(snap.bonded?.total_bitrate_kbps).toBe(1900);
    expect(snap.telemetry).toMatchObject({ connected: true, ingest_active: true, egress_clients: 1 });
  });

  it('signals telemetry loss once and link failovers as they come', async () => {
    const { t, signals } = await active();
    t.emit('link_failover', { type: 'link_failover', from: 'l1', to: 'l2', at: '2026-11-22T03:00:01Z' });
    t.emit('disconnected', { wasConnected: true, status: null, reason: 'closed (code 1006)' });
    t.emit('disconnected', { wasConnected: false, status: null, reason: 'ECONNREFUSED' });
    t.emit('connected');
    expect(signals).toEqual([
      { kind: 'link_failover', session_id: 'ses_1', from: 'l1', to: 'l2' },
      { kind: 'telemetry_disconnected', session_id: 'ses_1', reason: 'closed (code 1006)' },
      { kind: 'telemetry_connected', session_id: 'ses_1' },
    ]);
  });

  it('a throwing sink is logged and does not break CloudLink', async () => {
    const api = new FakeApi();
    api.activeReplies = [session('active')];
    const link = new CloudLink({
      api,
      sink: {
        relaySignal: () => {
          throw new Error('sink broke');
        },
      },
      createTelemetry: (u, tok) => new FakeTelemetry(u, tok),
      logger: silent,
    });
    links.push(link);
    await link.init();
    expect(link.currentSessionId()).toBe('ses_1');
  });
});

describe('CloudLink snapshot and pairing', () => {
  it('feeds the dock: status, links, latency, time bank, and pairing secrets only for the projection', async () => {
    let now = 1_000_000;
    const api = new FakeApi();
    const tele: FakeTelemetry[] = [];
    const cl = new CloudLink({
      api,
      sink: { relaySignal: () => {} },
      now: () => now,
      createTelemetry: (u, tok) => {
        const t = new FakeTelemetry(u, tok);
        tele.push(t);
        return t;
      },
      relayAddressReason: (ip) => `why ${ip}`,
      logger: silent,
    });
    links.push(cl);
    expect(relayInputOf(cl.view())).toMatchObject({
      status: 'inactive',
      links: null,
      pairing: null,
      time_bank: null,
      phone_address: null,
    });

    api.activeReplies = [session('active')];
    await cl.init();
    await cl.refreshUsage();
    await expect.poll(() => relayInputOf(cl.view()).pairing).not.toBeNull();
    const before = relayInputOf(cl.view());
    expect(before).toMatchObject({
      status: 'active',
      region: 'local',
      instance: 'i-1',
      uptime_s: 60,
      links: null,
      pairingRevealed: false,
      time_bank: { left_s: 3540, used_s: 60 },
    });
    expect(before.pairing?.srt_url).toBe(SRT_URL);
    // The phone's address is no secret: shown with the reason for it before any reveal.
    expect(before.phone_address).toEqual({ host: '198.51.100.4', reason: 'why 198.51.100.4' });
    expect(before.pairing?.qr_svg).toContain('<svg');

    const t = tele[0]!;
    t.emit('connected');
    t.emit('hello', { type: 'hello', session_id: 'ses_1', uptime_s: 100 });
    const slow = { ...linkRow(800), link_id: 'l2', label: 'wifi', rtt_ms: 90 };
    t.emit('stats', {
      type: 'stats',
      ingest_active: true,
      egress_clients: 1,
      links: [linkRow(2500), slow],
      bonded: { total_bitrate_kbps: 3300, active_link_count: 2, health: 'healthy' },
      forwarded_link_id: 'l2',
    });
    now += 5_000;
    const after = relayInputOf(cl.view());
    expect(after.uptime_s).toBe(105);
    expect(after.latency_ms).toBe(90);
    expect(after.links).toEqual([
      { label: 'phone', status: 'active', bitrate_kbps: 2500, rtt_ms: 30, loss_pct: 0, jitter_ms: 2 },
      { label: 'wifi', status: 'active', bitrate_kbps: 800, rtt_ms: 90, loss_pct: 0, jitter_ms: 2 },
    ]);

    await cl.revealPairing();
    expect(relayInputOf(cl.view()).pairingRevealed).toBe(true);
    api.stopError = null;
    await cl.stopIrl();
    expect(relayInputOf(cl.view())).toMatchObject({ status: 'inactive', pairing: null, links: null });
  });

  it('never carries tokens or URLs with passphrases until revealPairing()', async () => {
    const { api, link } = setup();
    api.activeReplies = [session('active')];
    await link.init();
    await link.refreshUsage();
    const hidden = JSON.stringify(link.snapshot());
    for (const secret of [PAIR, WS_TOKEN, EGRESS_PASS]) expect(hidden).not.toContain(secret);
    expect(link.snapshot().pairing).toEqual({ revealed: false, available: true });
    expect(link.snapshot().time_bank).toEqual(USAGE);
    expect(link.snapshot().session).toMatchObject({
      session_id: 'ses_1',
      public_ip: '198.51.100.4',
      egress_port: 9001,
    });

    const p = await link.revealPairing();
    expect(p?.srt_url).toBe(SRT_URL);
    expect(p?.obs_source_url).toBe(OBS_URL);
    expect(p?.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const shown = link.snapshot().pairing;
    expect(shown).toMatchObject({
      revealed: true,
      available: true,
      srt_url: SRT_URL,
      obs_source_url: OBS_URL,
    });
    expect(JSON.stringify(link.snapshot())).not.toContain(WS_TOKEN);

    link.hidePairing();
    expect(JSON.stringify(link.snapshot())).not.toContain(PAIR);
  });

  it('reports a failed OBS source configuration, and configures it again on request', async () => {
    const ctx = setup({ configureFails: true });
    ctx.api.activeReplies = [session('active')];
    await ctx.link.init();
    await expect.poll(() => ctx.link.snapshot().obs_source.error).toMatch(/scene "LIVE" not found/);
    expect(ctx.link.snapshot().obs_source.configured).toBe(false);
    ctx.obsBroken.value = false;
    await ctx.link.reconfigureObsSource();
    expect(ctx.configured).toEqual([OBS_URL]);
    expect(ctx.link.snapshot().obs_source).toEqual({ configured: true, error: null });
  });
});
