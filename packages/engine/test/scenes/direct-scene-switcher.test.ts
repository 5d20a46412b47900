import { describe, expect, it } from 'vitest';
import { DirectSceneSwitcher, type ObsRequester } from '../../src/scenes/direct-scene-switcher.js';

type Behaviour = 'event' | 'silent' | 'reject' | 'hang' | 'wrong_readback';

/** A scripted obs-websocket session: how OBS reacts to SetCurrentProgramScene. */
function fakeObs(behaviour: Behaviour, identified = true) {
  const listeners = new Set<(s: string) => void>();
  const calls: Array<[string, unknown]> = [];
  let program = 'LIVE';
  const obs: ObsRequester = {
    identified: () => identified,
    onSceneChanged: (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    call: async (type, data) => {
      calls.push([type, data]);
      if (type === 'GetCurrentProgramScene') {
        return { currentProgramSceneName: behaviour === 'wrong_readback' ? 'LIVE' : program };
      }
      if (behaviour === 'reject')
        throw new Error('OBS request SetCurrentProgramScene failed (code 600): No source was found');
      if (behaviour === 'hang') return new Promise(() => {});
      program = String(data?.sceneName);
      if (behaviour === 'event')
        setTimeout(() => {
          for (const l of listeners) l(program);
        }, 5);
      return {};
    },
  };
  return { obs, calls, listeners };
}

const req = { requestId: 'r-1', scene: 'BRB', reason: 'auto_failover' as const, deadlineMs: 300 };

describe('DirectSceneSwitcher', () => {
  it('confirms by the CurrentProgramSceneChanged event', async () => {
    const { obs, calls, listeners } = fakeObs('event');
    const r = await new DirectSceneSwitcher(obs).switchScene(req);
    expect(r).toMatchObject({ ok: true, error: null });
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(calls).toEqual([['SetCurrentProgramScene', { sceneName: 'BRB' }]]);
    expect(listeners.size).toBe(0);
  });

  it('confirms by read-back when OBS sends no event', async () => {
    const { obs, calls } = fakeObs('silent');
    const r = await new DirectSceneSwitcher(obs).switchScene(req);
    expect(r.ok).toBe(true);
    expect(calls.map((c) => c[0])).toEqual(['SetCurrentProgramScene', 'GetCurrentProgramScene']);
  });

  it('fails with the reason when OBS rejects, does not answer, or never shows the scene', async () => {
    const rejected = await new DirectSceneSwitcher(fakeObs('reject').obs).switchScene(req);
    expect(rejected).toMatchObject({ ok: false, error: expect.stringMatching(/No source was found/) });
    const hung = await new DirectSceneSwitcher(fakeObs('hang').obs).switchScene(req);
    expect(hung).toMatchObject({ ok: false, error: 'OBS did not confirm BRB within 300 ms' });
    expect(hung.latencyMs).toBeGreaterThanOrEqual(290);
    const wrong = await new DirectSceneSwitcher(fakeObs('wrong_readback').obs).switchScene(req);
    expect(wrong).toMatchObject({ ok: false, error: expect.stringMatching(/did not confirm/) });
  });

  it('is not ready and refuses while OBS is not identified', async () => {
    const { obs, calls } = fakeObs('event', false);
    const s = new DirectSceneSwitcher(obs);
    expect(s.ready()).toBe(false);
    expect(await s.switchScene(req)).toMatchObject({ ok: false, error: 'OBS is not connected' });
    expect(calls).toHaveLength(0);
  });
});
