import { describe, expect, it } from 'vitest';
import { Sim, sig } from './sim.js';

/** IRL_ACTIVE with OBS on LIVE and a healthy local feed. */
function irlActive(): Sim {
  const s = new Sim().ready('LIVE');
  s.samples('normal', 4);
  s.relay(sig.accepted());
  s.relay(sig.telemetryUp());
  s.relay(sig.ingestActive());
  return s;
}

describe('mode transitions', () => {
  it('STUDIO → IRL_CONNECTING → IRL_ACTIVE', () => {
    const s = new Sim();
    expect(s.mode).toBe('STUDIO');
    s.relay(sig.accepted());
    expect(s.mode).toBe('IRL_CONNECTING');
    s.relay(sig.telemetryUp());
    expect(s.mode).toBe('IRL_ACTIVE');
    expect(s.modeTrail()).toEqual(['STUDIO>IRL_CONNECTING', 'IRL_CONNECTING>IRL_ACTIVE']);
  });

  it('IRL_CONNECTING → STUDIO on deny and on timeout, with a notice', () => {
    for (const signal of [sig.denied(), sig.timeout()]) {
      const s = new Sim();
      s.relay(sig.accepted());
      s.relay(signal);
      expect(s.mode).toBe('STUDIO');
      expect(s.actions.some((a) => a.type === 'notice' && a.level === 'warn')).toBe(true);
    }
  });

  it('IRL_ACTIVE → IRL_GRACE → IRL_ACTIVE within grace', () => {
    const s = irlActive();
    s.relay(sig.telemetryDown());
    expect(s.mode).toBe('IRL_ACTIVE');
    s.advance(250);
    s.send({ kind: 'tick' });
    expect(s.mode).toBe('IRL_GRACE');
    s.advance(30_000);
    s.relay(sig.telemetryUp());
    expect(s.mode).toBe('IRL_ACTIVE');
    expect(s.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['grace_started', 'grace_recovered']));
    expect(s.modeTrail().slice(-2)).toEqual(['IRL_ACTIVE>IRL_GRACE', 'IRL_GRACE>IRL_ACTIVE']);
  });

  it('IRL_ACTIVE → IRL_GRACE → STUDIO when the grace window expires', () => {
    const s = irlActive();
    s.relay(sig.ingestInactive());
    s.advance(250);
    const d = s.send({ kind: 'tick' });
    expect(s.mode).toBe('IRL_GRACE');
    expect(d.wakeAt).toBe(s.t + 600_000);
    s.advance(599_999);
    s.send({ kind: 'tick' });
    expect(s.mode).toBe('IRL_GRACE');
    s.advance(1);
    s.send({ kind: 'tick' });
    expect(s.mode).toBe('STUDIO');
    expect(s.events.some((e) => e.kind === 'grace_expired')).toBe(true);
    // Back in STUDIO, a late telemetry signal does not resurrect the session.
    s.relay(sig.telemetryUp());
    expect(s.mode).toBe('STUDIO');
  });

  it('a telemetry flicker shorter than the debounce does not enter grace', () => {
    const s = irlActive();
    s.relay(sig.telemetryDown());
    s.advance(200);
    s.relay(sig.telemetryUp());
    s.advance(500);
    s.send({ kind: 'tick' });
    expect(s.mode).toBe('IRL_ACTIVE');
  });

  it('rejects and records signals that would need an illegal transition', () => {
    const s = new Sim();
    s.relay(sig.denied());
    expect(s.mode).toBe('STUDIO');
    const rejected = s.events.find((e) => e.kind === 'illegal_transition');
    expect(rejected?.data).toMatchObject({ from: 'STUDIO', to: 'STUDIO' });
    const a = new Sim();
    a.relay(sig.accepted());
    a.relay(sig.accepted());
    expect(a.events.find((e) => e.kind === 'illegal_transition')?.data).toMatchObject({
      from: 'IRL_CONNECTING',
      to: 'IRL_CONNECTING',
    });
  });

  it('session ended while active returns to STUDIO (stop acknowledged)', () => {
    const s = irlActive();
    s.relay(sig.ended());
    expect(s.modeTrail().at(-1)).toBe('IRL_ACTIVE>STUDIO');
  });
});

describe('rule precedence', () => {
  it('local zero bitrate beats a healthy cloud signal → BRB', () => {
    const s = irlActive();
    expect(s.state.cloud.health).toBe('normal');
    s.advance(500);
    const d = s.feed('offline', 'bitrate 0 kb/s');
    expect(d.intent).toBe('BRB');
    expect(d.rule).toBe('local_failover');
    const sw = s.switches().at(-1);
    expect(sw).toMatchObject({
      scene: 'BRB',
      intent: 'BRB',
      rule: 'local_failover',
      reason: 'auto_failover',
    });
  });

  it('a pushed relay "ingest stalled" switches at once, without waiting for a tick', () => {
    const s = irlActive();
    s.send({ kind: 'feed', feed: { health: 'unknown', source: null, reason: null } });
    s.advance(10);
    const d = s.relay(sig.stalled(s.t));
    expect(d.intent).toBe('BRB');
    expect(d.rule).toBe('cloud_signal');
    expect(s.switches().at(-1)?.detectedAt).toBe(s.t);
  });

  it('a stall between our LIVE switch result and OBS reporting LIVE still switches to BRB', () => {
    const s = new Sim().ready('BRB');
    s.relay(sig.accepted());
    s.relay(sig.telemetryUp());
    s.relay(sig.ingestActive());
    s.samples('normal', 4);
    const live = s.switches().at(-1);
    expect(live?.scene).toBe('LIVE');
    // The switch succeeded, but OBS's CurrentProgramSceneChanged has not arrived yet.
    s.send({ kind: 'switch_result', requestId: live?.requestId ?? '', ok: true, error: null });
    s.advance(200);
    s.relay(sig.stalled(s.t));
    expect(s.switches().at(-1)).toMatchObject({ scene: 'BRB', rule: 'cloud_signal' });
    s.confirm();
    // OBS's late report of LIVE, then of BRB: BRB stays; recovery goes back to LIVE.
    s.send({ kind: 'program_scene', scene: 'LIVE' });
    s.send({ kind: 'program_scene', scene: 'BRB' });
    s.relay(sig.resumed(s.t));
    s.samples('normal', 4);
    expect(s.switches().at(-1)).toMatchObject({ scene: 'LIVE', rule: 'recovery' });
  });

  it('an authorised manual switch beats automatic LIVE and is not fought afterwards', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    const d = s.send({ kind: 'command', command: { intent: 'BRB' }, origin: 'dock' });
    expect(d.rule).toBe('command');
    expect(d.command).toMatchObject({ ok: true, scene: 'BRB' });
    expect(s.switches().at(-1)).toMatchObject({ scene: 'BRB', rule: 'command', reason: 'manual' });
    s.confirm();
    s.samples('normal', 20);
    expect(s.switches()).toHaveLength(1);
  });

  it('manual_override blocks automatic rules; handing back acts at the next fresh sample, not by itself', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.send({ kind: 'flags', flags: { manual_override: true } });
    s.samples('offline', 6);
    expect(s.switches()).toHaveLength(0);
    expect(
      s.events.filter((e) => e.kind === 'guard_rejected' && e.data?.guard === 'manual_override'),
    ).toHaveLength(1);
    s.send({ kind: 'flags', flags: { manual_override: false } });
    expect(s.switches()).toHaveLength(0);
    s.advance(500);
    s.feed('offline');
    expect(s.switches().at(-1)).toMatchObject({ scene: 'BRB', rule: 'local_failover' });
  });

  it('a command made during the override still stands after handing back, until the feed changes', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.send({ kind: 'flags', flags: { manual_override: true } });
    s.samples('offline', 6);
    const cmd = s.send({ kind: 'command', command: { scene: 'Intermission' }, origin: 'chat' });
    expect(cmd.command?.ok).toBe(true);
    expect(s.switches().at(-1)).toMatchObject({
      scene: 'Intermission',
      reason: 'chat_command',
      intent: null,
    });
    s.confirm();
    s.send({ kind: 'program_scene', scene: 'LIVE' });
    s.send({ kind: 'flags', flags: { manual_override: false } });
    s.samples('offline', 4);
    expect(s.switches()).toHaveLength(1);
    s.samples('normal', 4);
    s.samples('offline', 2);
    expect(s.switches().at(-1)).toMatchObject({ scene: 'BRB', rule: 'local_failover' });
  });

  it('auto_scene_switch off blocks automation but not explicit commands', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'flags', flags: { auto_scene_switch: false } });
    s.samples('offline', 4);
    expect(s.switches()).toHaveLength(0);
    s.send({ kind: 'command', command: { intent: 'OFFLINE' }, origin: 'cli' });
    expect(s.switches().map((x) => x.scene)).toEqual(['OFFLINE']);
  });

  it('a switch held by a guard counts its detection time from the moment automation may act', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'flags', flags: { auto_scene_switch: false } });
    s.samples('offline', 6);
    expect(s.switches()).toHaveLength(0);
    s.samples('offline', 6);
    s.send({ kind: 'flags', flags: { auto_scene_switch: true } });
    expect(s.switches()).toHaveLength(0);
    s.advance(500);
    s.feed('offline');
    const sw = s.switches().at(-1);
    expect(sw).toMatchObject({ scene: 'BRB', rule: 'local_failover' });
    expect(sw?.detectedAt).toBe(s.t);
  });

  it('an unmanaged scene on air blocks automation until a managed scene is back', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.send({ kind: 'program_scene', scene: 'Privacy' });
    s.samples('offline', 6);
    expect(s.switches()).toHaveLength(0);
    expect(s.events.some((e) => e.kind === 'guard_rejected' && e.data?.guard === 'unmanaged_scene')).toBe(
      true,
    );
    s.send({ kind: 'program_scene', scene: 'LIVE' });
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it('managed_extra scenes count as managed', () => {
    const s = new Sim().ready('LIVE');
    s.send({
      kind: 'config',
      scenes: {
        live: 'LIVE',
        low: 'LOW',
        brb: 'BRB',
        offline: 'OFFLINE',
        managed_extra: ['Starting'],
        fallback: ['OFFLINE', 'LOW'],
      },
    });
    s.send({ kind: 'program_scene', scene: 'Starting' });
    s.samples('normal', 3);
    expect(s.switches().map((x) => x.scene)).toEqual(['LIVE']);
  });

  it('LOW after low_after_ms and back to LIVE after recover_after_ms', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    s.samples('low', 2);
    expect(s.switches()).toHaveLength(0);
    s.advance(500);
    s.feed('low');
    expect(s.switches().at(-1)).toMatchObject({
      scene: 'LOW',
      rule: 'local_failover',
      reason: 'auto_failover',
    });
    s.confirm();
    s.advance(500);
    s.samples('normal', 2);
    expect(s.switches()).toHaveLength(1);
    s.advance(500);
    s.feed('normal');
    expect(s.switches().at(-1)).toMatchObject({ scene: 'LIVE', rule: 'recovery', reason: 'auto_recover' });
  });

  it('without a LOW scene or with low_quality_fallback off a low feed holds', () => {
    for (const setup of ['no_scene', 'flag_off'] as const) {
      const s = new Sim().ready('LIVE');
      if (setup === 'no_scene') {
        s.send({
          kind: 'config',
          scenes: {
            live: 'LIVE',
            low: '',
            brb: 'BRB',
            offline: 'OFFLINE',
            managed_extra: [],
            fallback: ['OFFLINE', 'LOW'],
          },
        });
      } else {
        s.send({ kind: 'flags', flags: { low_quality_fallback: false } });
      }
      s.samples('normal', 4);
      const before = s.switches().length;
      s.samples('low', 10);
      expect(s.switches()).toHaveLength(before);
      expect(s.decisions.at(-1)?.intent).toBe('HOLD');
    }
  });
});

describe('safety', () => {
  it('scene path down: DEGRADED, nothing emitted, commands refused; back after the probe', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.send({ kind: 'scene_path', ready: false, via: 'ipc' });
    expect(s.mode).toBe('DEGRADED');
    expect(s.modeTrail().at(-1)).toBe('STUDIO>DEGRADED');
    s.samples('offline', 6);
    const cmd = s.send({ kind: 'command', command: { intent: 'BRB' }, origin: 'dock' });
    expect(cmd.command).toMatchObject({ ok: false });
    expect(s.switches()).toHaveLength(0);
    s.send({ kind: 'scene_path', ready: true, via: 'ipc' });
    s.advance(100);
    s.send({ kind: 'program_scene', scene: 'LIVE' });
    expect(s.mode).toBe('DEGRADED');
    s.advance(250);
    s.send({ kind: 'tick' });
    expect(s.mode).toBe('STUDIO');
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it('a protocol-error storm is a controlled reset, not a crash', () => {
    const s = new Sim().ready('LIVE');
    expect(() => s.send({ kind: 'protocol_error_storm', detail: '12 decode errors in 1 s' })).not.toThrow();
    expect(s.mode).toBe('DEGRADED');
    expect(s.actions.some((a) => a.type === 'reset_scene_path')).toBe(true);
    s.send({ kind: 'program_scene', scene: 'LIVE' });
    s.advance(300);
    s.send({ kind: 'tick' });
    expect(s.mode).toBe('STUDIO');
  });

  it('startup with an active session reconnects without provisioning', () => {
    const s = new Sim().ready('LIVE');
    s.relay(sig.accepted(true));
    s.relay(sig.telemetryUp());
    expect(s.mode).toBe('IRL_ACTIVE');
    expect(
      s.actions.filter((a) => a.type === 'mode_transition').map((a) => 'trigger' in a && a.trigger),
    ).toEqual(['session_restored', 'relay_connected']);
    expect(s.actions.every((a) => a.type === 'mode_transition')).toBe(true);
  });

  it('FATAL stops automation and refuses commands', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'fatal', reason: 'relay auth rejected' });
    expect(s.mode).toBe('FATAL');
    s.samples('offline', 4);
    expect(s.send({ kind: 'command', command: { intent: 'BRB' }, origin: 'dock' }).command?.ok).toBe(false);
    expect(s.switches()).toHaveLength(0);
  });

  it('a late switch result does not overwrite a newer scene change by the operator', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    s.feed('offline');
    s.send({ kind: 'program_scene', scene: 'BRB' });
    s.send({ kind: 'program_scene', scene: 'Privacy' });
    s.send({ kind: 'switch_result', requestId: s.switches().at(-1)?.requestId ?? '', ok: true, error: null });
    expect(s.state.programScene).toBe('Privacy');
    s.samples('normal', 6);
    expect(s.switches()).toHaveLength(1);
  });

  it('a failed automatic switch is retried on the next evaluation', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    s.feed('offline');
    s.confirm(false);
    s.advance(500);
    s.feed('offline');
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB', 'BRB']);
    expect(new Set(s.switches().map((x) => x.requestId)).size).toBe(2);
  });
});

describe('timing', () => {
  it('cold start reaches LIVE after the recovery window (three samples)', () => {
    const s = new Sim().ready('BRB');
    s.feed('normal');
    s.advance(500);
    s.feed('normal');
    expect(s.switches()).toHaveLength(0);
    s.advance(500);
    const d = s.feed('normal');
    expect(d.intent).toBe('LIVE');
    expect(s.switches()).toEqual([
      expect.objectContaining({ scene: 'LIVE', rule: 'recovery', reason: 'auto_recover' }),
    ]);
  });

  it('one offline sample with defaults switches in the same evaluation (detection to command 0 ms)', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    s.feed('offline');
    const sw = s.switches().at(-1);
    expect(sw?.at).toBe(s.t);
    expect(sw?.detectedAt).toBe(s.t);
  });

  it('a single glitch sample from a source reporting every 100 ms does not switch; a sustained one does', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 20, 100);
    s.advance(100);
    s.feed('offline');
    s.advance(100);
    s.feed('normal');
    expect(s.switches()).toHaveLength(0);
    s.samples('offline', 5, 100);
    expect(s.switches()).toHaveLength(0);
    s.advance(100);
    s.feed('offline');
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it('stale stats switch at once: the feed has been dead since the last line', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 20, 100);
    const lastLine = s.t;
    // The engine ticks on while the last line ages; it turns stale 600 ms after it.
    s.advance(500);
    s.feed('normal');
    s.advance(500);
    s.feed('normal');
    s.advance(100);
    s.send({
      kind: 'feed',
      feed: { health: 'offline', source: 'srt', reason: 'stats stale', since: lastLine },
    });
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it('a longer offline_after_ms asks to be woken exactly when it elapses', () => {
    const s = new Sim({ offline_after_ms: 1500 }).ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    const d = s.feed('offline');
    expect(s.switches()).toHaveLength(0);
    expect(d.wakeAt).toBe(s.t + 1000);
    s.advance(1000);
    s.send({ kind: 'tick' });
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it('a feed flapping normal/low or normal/offline every sample causes at most one switch', () => {
    const low = new Sim().ready('LIVE');
    low.samples('normal', 4);
    for (let i = 0; i < 60; i++) {
      low.advance(500);
      low.feed(i % 2 ? 'normal' : 'low');
    }
    expect(low.switches()).toHaveLength(0);
    const off = new Sim().ready('LIVE');
    off.samples('normal', 4);
    for (let i = 0; i < 60; i++) {
      off.advance(500);
      off.feed(i % 2 ? 'normal' : 'offline');
      if (off.state.inFlight) off.confirm();
    }
    expect(off.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it('offline_timeout_s shows OFFLINE, holds it on air for offline_hold_s, then stops the stream once', () => {
    const s = new Sim({ offline_timeout_s: 5 }).ready('LIVE');
    s.samples('normal', 4);
    s.advance(500);
    s.feed('offline');
    s.confirm();
    // The first offline sample stands for the 500 ms before it: 5 s are reached 9 samples later.
    for (let i = 0; i < 8; i++) {
      s.advance(500);
      s.feed('offline');
    }
    expect(s.switches().at(-1)).toMatchObject({ scene: 'BRB' });
    s.advance(500);
    s.feed('offline');
    expect(s.switches().at(-1)).toMatchObject({ scene: 'OFFLINE', intent: 'OFFLINE' });
    // Not before OBS has confirmed OFFLINE on air, and then not before the hold.
    expect(s.actions.some((a) => a.type === 'stop_stream')).toBe(false);
    s.confirm();
    const onAir = s.t;
    s.samples('offline', 6);
    expect(s.actions.some((a) => a.type === 'stop_stream')).toBe(false);
    s.advance(500);
    s.feed('offline');
    const stops = s.actions.filter((a) => a.type === 'stop_stream');
    expect(stops).toHaveLength(1);
    expect(stops[0]?.at).toBe(onAir + 3000);
    expect(s.actions.some((a) => a.type === 'notice' && /stopping the stream/.test(a.text))).toBe(true);
    s.samples('offline', 10);
    expect(s.actions.filter((a) => a.type === 'stop_stream')).toHaveLength(1);
  });

  it('offline_timeout_s 0 never stops the stream', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'stream_status', active: true });
    s.samples('offline', 400);
    expect(s.actions.some((a) => a.type === 'stop_stream')).toBe(false);
  });
});

describe('traceability', () => {
  it('every switch carries a request id, rule, reason and a matching event', () => {
    const s = new Sim().ready('BRB');
    s.samples('normal', 3);
    s.confirm();
    s.advance(500);
    s.feed('offline');
    s.confirm();
    s.send({ kind: 'command', command: { intent: 'LIVE' }, origin: 'chat', requestId: 'chat-42' });
    const switches = s.switches();
    expect(switches).toHaveLength(3);
    expect(switches[2]?.requestId).toBe('chat-42');
    for (const sw of switches) {
      expect(sw.requestId).toMatch(/\S/);
      expect(sw.reason).toMatch(/auto_failover|auto_recover|chat_command|manual/);
      const ev = s.events.find((e) => e.kind === 'switch_requested' && e.request_id === sw.requestId);
      expect(ev?.data).toMatchObject({ rule: sw.rule, scene: sw.scene });
      // Logged, but the event history holds one entry per switch: its result (the controller's).
      expect(ev?.quiet).toBe(true);
    }
  });

  it('does not mutate the state it was given', () => {
    const s = new Sim().ready('LIVE');
    const given = s.state;
    const snapshot = structuredClone(given);
    s.samples('offline', 2);
    expect(s.state.target?.intent).toBe('BRB');
    expect(given).toEqual(snapshot);
  });
});
