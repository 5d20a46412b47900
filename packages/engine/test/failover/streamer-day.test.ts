import { describe, expect, it } from 'vitest';
import { automationStatus } from '../../src/failover/automation-status.js';
import { SCENE_DEFAULTS } from '../../src/failover/params.js';
import { Sim, sig } from './sim.js';

/**
 * The state machine through a streamer's day, on a fake clock: each case is one of the ways an
 * automatic action could take a stream off air or put the wrong picture on it.
 */

const ALL_SCENES = ['LIVE', 'LOW', 'BRB', 'OFFLINE', 'Privacy'];

describe('before going live (only_while_streaming)', () => {
  it('switches nothing while OBS is not streaming, and says why', () => {
    const s = new Sim().ready('LIVE', false);
    s.samples('offline', 10);
    expect(s.switches()).toHaveLength(0);
    expect(automationStatus(s.state, 'obs')).toMatchObject({ state: 'waiting', guard: 'not_streaming' });
    expect(s.events.some((e) => e.kind === 'guard_rejected' && e.data?.guard === 'not_streaming')).toBe(true);
  });

  it('acts once the stream starts, with the reason the feed gives at that moment', () => {
    const s = new Sim().ready('LIVE', false);
    const offline = (reason: string) =>
      s.send({ kind: 'feed', feed: { health: 'offline', source: 'phone', reason } });
    offline('stats file not found');
    for (let i = 0; i < 6; i++) {
      s.advance(500);
      offline(`no data from phone for ${(0.5 * (i + 1)).toFixed(1)} s`);
    }
    expect(s.switches()).toHaveLength(0);
    s.send({ kind: 'stream_status', active: true });
    expect(s.switches()).toHaveLength(1);
    expect(s.switches()[0]).toMatchObject({ scene: 'BRB', why: 'no data from phone for 3.0 s' });
  });

  it('off: automation acts without a stream, as before', () => {
    const s = new Sim().ready('LIVE', false);
    s.send({ kind: 'flags', flags: { only_while_streaming: false } });
    s.samples('offline', 2);
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });
});

describe('offline_timeout_s after a restart', () => {
  it('counts from the stream start: a stream started while the phone is away is not stopped at once', () => {
    const s = new Sim({ offline_timeout_s: 10 }).ready('LIVE');
    s.samples('offline', 24);
    s.confirm();
    // 12 s offline while streaming: OFFLINE, confirmed, held 3 s, stopped.
    s.samples('offline', 2);
    s.confirm();
    s.samples('offline', 8);
    expect(s.actions.filter((a) => a.type === 'stop_stream')).toHaveLength(1);
    s.send({ kind: 'stream_status', active: false });
    // `!start` while the phone is still reconnecting: the stream runs on, BRB on air.
    s.advance(500);
    s.send({ kind: 'stream_status', active: true });
    s.samples('offline', 10);
    expect(s.actions.filter((a) => a.type === 'stop_stream')).toHaveLength(1);
    // Only after 10 s of this new stream does OFFLINE go on air again.
    s.samples('offline', 12);
    expect(s.switches().filter((x) => x.scene === 'OFFLINE')).toHaveLength(2);
  });

  it('a command during the hold calls the stop off', () => {
    const s = new Sim({ offline_timeout_s: 5 }).ready('LIVE');
    s.samples('offline', 2);
    s.confirm();
    s.samples('offline', 10);
    expect(s.switches().at(-1)?.scene).toBe('OFFLINE');
    s.confirm();
    s.advance(1000);
    s.send({ kind: 'command', command: { intent: 'LIVE' }, origin: 'chat' });
    s.confirm();
    s.samples('offline', 12);
    expect(s.actions.some((a) => a.type === 'stop_stream')).toBe(false);
  });

  it('the feed coming back during the hold calls the stop off and recovers', () => {
    const s = new Sim({ offline_timeout_s: 5 }).ready('LIVE');
    s.samples('offline', 2);
    s.confirm();
    s.samples('offline', 10);
    expect(s.switches().at(-1)?.scene).toBe('OFFLINE');
    s.confirm();
    s.samples('normal', 8);
    expect(s.actions.some((a) => a.type === 'stop_stream')).toBe(false);
    expect(s.switches().at(-1)?.scene).toBe('LIVE');
  });

  it('without an OFFLINE scene the failover scene stays on air and the stream is still stopped after the hold', () => {
    const s = new Sim({ offline_timeout_s: 5 }).ready('LIVE');
    s.send({ kind: 'scene_list', scenes: ['LIVE', 'LOW', 'BRB'] });
    s.samples('offline', 2);
    s.confirm();
    s.samples('offline', 16);
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
    expect(s.actions.filter((a) => a.type === 'stop_stream')).toHaveLength(1);
    expect(s.events.filter((e) => e.kind === 'scene_missing')).toHaveLength(1);
  });
});

describe("the engine's own stall", () => {
  it('a gap past the stale window is unknown: no switch is decided from it', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(2300);
    s.send({
      kind: 'feed',
      feed: { health: 'offline', source: 'phone', reason: 'no data from phone for 2.3 s' },
    });
    expect(s.switches()).toHaveLength(0);
    expect(s.state.local.health).toBe('unknown');
    expect(s.events.filter((e) => e.kind === 'engine_stalled')).toHaveLength(1);
    // Fresh samples right after say the feed is fine: nothing happened.
    s.advance(100);
    s.feed('normal');
    s.samples('normal', 4);
    expect(s.switches()).toHaveLength(0);
  });

  it('a real failure after a stall is still caught by the next fresh samples', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.advance(3000);
    s.feed('offline');
    expect(s.switches()).toHaveLength(0);
    s.advance(100);
    s.feed('offline');
    s.advance(500);
    s.feed('offline');
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });
});

describe('settings changed mid-stream', () => {
  it('a threshold change while a command holds LIVE on a low feed switches nothing', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.samples('low', 4);
    expect(s.switches().at(-1)?.scene).toBe('LOW');
    s.confirm();
    s.send({ kind: 'command', command: { intent: 'LIVE' }, origin: 'chat' });
    s.confirm();
    const before = s.switches().length;
    s.send({ kind: 'config', params: { ...s.state.params, low_bitrate_kbps: 500 } });
    expect(s.switches()).toHaveLength(before);
    s.samples('low', 8);
    expect(s.switches()).toHaveLength(before);
  });

  it('a settings change never re-applies the last target by itself', () => {
    const s = new Sim().ready('LIVE');
    s.samples('normal', 4);
    s.samples('offline', 2);
    s.confirm();
    // The operator puts LIVE back in OBS by hand; automation must not fight it on a settings change.
    s.send({ kind: 'program_scene', scene: 'LIVE' });
    const before = s.switches().length;
    s.send({ kind: 'flags', flags: { alerts: false } });
    s.send({ kind: 'config', scenes: { ...SCENE_DEFAULTS } });
    s.send({ kind: 'config', params: { ...s.state.params, recover_after_ms: 3000 } });
    expect(s.switches()).toHaveLength(before);
  });
});

describe('a role scene missing in OBS', () => {
  it('BRB renamed: one event, the fallback goes on air, and automation reports it', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'scene_list', scenes: ['LIVE', 'LOW', 'BRB (old)', 'OFFLINE'] });
    s.samples('normal', 4);
    s.samples('offline', 10);
    expect(s.switches().map((x) => x.scene)).toEqual(['OFFLINE']);
    expect(s.switches()[0]?.why).toMatch(/'BRB' missing in OBS/);
    expect(s.events.filter((e) => e.kind === 'scene_missing')).toHaveLength(1);
    expect(automationStatus(s.state, 'obs')).toMatchObject({
      state: 'armed',
      missing: [{ role: 'BRB', scene: 'BRB', standIn: 'OFFLINE' }],
    });
  });

  it('with no stand-in: automation is blocked with the reason and nothing is attempted', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'scene_list', scenes: ['LIVE'] });
    s.samples('offline', 20);
    expect(s.switches()).toHaveLength(0);
    expect(automationStatus(s.state, 'obs')).toMatchObject({
      state: 'blocked',
      guard: 'scene_missing',
      text: expect.stringMatching(/scene 'LOW' does not exist in OBS/),
    });
    expect(s.events.filter((e) => e.kind === 'scene_missing')).toHaveLength(1);
    s.send({ kind: 'scene_list', scenes: ['LIVE', 'BRB'] });
    expect(s.switches().map((x) => x.scene)).toEqual(['BRB']);
  });

  it("OBS answering 'no such scene' drops it from the list; other failures are retried with backoff", () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'scene_list', scenes: ALL_SCENES });
    s.samples('normal', 4);
    s.samples('offline', 2);
    const first = s.switches().at(-1);
    s.send({
      kind: 'switch_result',
      requestId: first?.requestId ?? '',
      ok: false,
      error: { code: 'scene_missing', message: 'OBS has no scene named "BRB"' },
    });
    s.samples('offline', 2);
    expect(s.switches().at(-1)?.scene).toBe('OFFLINE');
    // OBS busy: retried after 0.5 s, 1 s, 2 s, 4 s … not on every tick.
    const attempts: number[] = [];
    for (let i = 0; i < 40; i++) {
      const last = s.switches().at(-1);
      if (last && s.state.inFlight?.requestId === last.requestId) {
        attempts.push(s.t);
        s.send({
          kind: 'switch_result',
          requestId: last.requestId,
          ok: false,
          error: { code: 'obs_rejected', message: 'busy' },
        });
      }
      s.advance(250);
      s.feed('offline');
    }
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? t));
    expect(gaps.slice(0, 4)).toEqual([500, 1000, 2000, 4000]);
  });

  it('a command naming a missing scene is refused with the scene_missing guard', () => {
    const s = new Sim().ready('LIVE');
    s.send({ kind: 'scene_list', scenes: ['LIVE', 'BRB'] });
    const d = s.send({ kind: 'command', command: { intent: 'OFFLINE' }, origin: 'api' });
    expect(d.command).toMatchObject({
      ok: false,
      refusal: { guard: 'scene_missing', text: 'OBS has no scene named "OFFLINE"' },
    });
  });
});

describe('LIVE before the picture', () => {
  it('in IRL a relay that has not reported the ingest is not a healthy feed, whatever OBS output says', () => {
    const s = new Sim().ready('BRB');
    s.samples('normal', 4);
    expect(s.switches().map((x) => x.scene)).toEqual(['LIVE']);
    s.confirm();
    s.send({ kind: 'command', command: { intent: 'BRB' }, origin: 'dock' });
    s.confirm();
    s.relay(sig.accepted());
    s.relay(sig.telemetryUp());
    s.samples('normal', 10);
    expect(s.switches().at(-1)?.scene).toBe('BRB');
    s.relay(sig.ingestActive());
    s.samples('normal', 4);
    expect(s.switches().at(-1)?.scene).toBe('LIVE');
  });

  it('waits until the media source playing the feed shows new frames', () => {
    const s = new Sim().ready('BRB');
    const picture = (playing: boolean) => ({
      health: 'normal' as const,
      source: 'phone',
      reason: null,
      picture: { input: 'Phone', playing, detail: playing ? 'new frames' : 'buffering' },
    });
    for (let i = 0; i < 8; i++) {
      s.send({ kind: 'feed', feed: picture(false) });
      s.advance(500);
    }
    expect(s.switches()).toHaveLength(0);
    s.send({ kind: 'feed', feed: picture(true) });
    expect(s.switches().map((x) => x.scene)).toEqual(['LIVE']);
    expect(s.switches()[0]?.why).toMatch(/Phone shows the picture/);
  });

  it('a picture that never moves holds LIVE back for at most PICTURE_WAIT_MAX_MS, then says so', () => {
    const s = new Sim().ready('BRB');
    const still = {
      health: 'normal' as const,
      source: 'phone',
      reason: null,
      picture: { input: 'Phone', playing: false, detail: 'the picture is still' },
    };
    for (let i = 0; i < 19; i++) {
      s.send({ kind: 'feed', feed: still });
      s.advance(500);
    }
    expect(s.switches()).toHaveLength(0);
    s.send({ kind: 'feed', feed: still });
    expect(s.switches().map((x) => x.scene)).toEqual(['LIVE']);
    expect(s.switches()[0]?.why).toMatch(/Phone's picture not confirmed \(the picture is still\)/);
  });
});
