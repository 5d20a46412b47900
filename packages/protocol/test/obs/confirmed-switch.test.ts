import { describe, expect, it } from 'vitest';
import { confirmedSwitch, type SceneSwitchPort } from '../../src/obs/confirmed-switch.js';

type Behaviour = 'event' | 'silent' | 'reject' | 'missing' | 'hang' | 'wrong_readback' | 'late_event';

/** A scripted obs-websocket session: how OBS reacts to SetCurrentProgramScene. */
function fakeObs(behaviour: Behaviour, identified = true) {
  const listeners = new Set<(s: string) => void>();
  const calls: string[] = [];
  let program = 'LIVE';
  const emit = () => {
    for (const l of listeners) l(program);
  };
  const port: SceneSwitchPort = {
    identified: () => identified,
    onSceneChanged: (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    programScene: async () => {
      calls.push('GetCurrentProgramScene');
      return behaviour === 'wrong_readback' || behaviour === 'late_event' ? 'LIVE' : program;
    },
    setProgramScene: async (scene) => {
      calls.push('SetCurrentProgramScene');
      if (behaviour === 'reject') throw Object.assign(new Error('OBS is busy'), { code: 702 });
      if (behaviour === 'missing')
        throw Object.assign(new Error('No source was found by the name of BRB'), { code: 600 });
      if (behaviour === 'hang') return new Promise(() => {});
      program = scene;
      if (behaviour === 'event') setTimeout(emit, 5);
      if (behaviour === 'late_event') setTimeout(emit, 150);
    },
  };
  return { port, calls, listeners };
}

describe('confirmedSwitch (the direct path and the shim run this one routine)', () => {
  it('confirms by the CurrentProgramSceneChanged event', async () => {
    const { port, calls, listeners } = fakeObs('event');
    const r = await confirmedSwitch(port, 'BRB', 300);
    expect(r).toMatchObject({ ok: true, error: null });
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(calls).toEqual(['SetCurrentProgramScene']);
    expect(listeners.size).toBe(0);
  });

  it('confirms by read-back when OBS sends no event (the scene was already on program)', async () => {
    const { port, calls } = fakeObs('silent');
    expect((await confirmedSwitch(port, 'BRB', 300)).ok).toBe(true);
    expect(calls).toEqual(['SetCurrentProgramScene', 'GetCurrentProgramScene']);
  });

  it('waits for a late event after a stale read-back, within the deadline', async () => {
    expect((await confirmedSwitch(fakeObs('late_event').port, 'BRB', 300)).ok).toBe(true);
  });

  it('reports each failure with its shared code', async () => {
    expect(await confirmedSwitch(fakeObs('missing').port, 'BRB', 300)).toMatchObject({
      ok: false,
      error: { code: 'scene_missing', message: 'OBS has no scene named "BRB"' },
    });
    expect(await confirmedSwitch(fakeObs('reject').port, 'BRB', 300)).toMatchObject({
      ok: false,
      error: { code: 'obs_rejected', message: 'OBS is busy' },
    });
    const hung = await confirmedSwitch(fakeObs('hang').port, 'BRB', 300);
    expect(hung).toMatchObject({
      ok: false,
      error: { code: 'deadline_exceeded', message: 'OBS did not take BRB within 300 ms' },
    });
    expect(hung.latencyMs).toBeGreaterThanOrEqual(290);
    expect(await confirmedSwitch(fakeObs('wrong_readback').port, 'BRB', 300)).toMatchObject({
      ok: false,
      error: { code: 'not_confirmed', message: 'OBS still shows LIVE instead of BRB' },
    });
  });

  it('refuses without a call while OBS is not identified', async () => {
    const { port, calls } = fakeObs('event', false);
    expect(await confirmedSwitch(port, 'BRB', 300)).toMatchObject({
      ok: false,
      error: { code: 'obs_not_connected' },
    });
    expect(calls).toHaveLength(0);
  });
});
