import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { engineChatActions } from '../../src/control/chat-actions.js';
import { registerApiRoutes } from '../../src/server/api-routes.js';
import { controlRig } from './fixtures.js';

const chatSource = {
  kind: 'chat' as const,
  platform: 'twitch' as const,
  user_name: 'mod',
  request_id: 'c-1',
};

describe('EngineControl: commands', () => {
  it('a switch OBS confirmed answers with the scene and the request id', async () => {
    const { control, switcher, controller } = await controlRig();
    controller.streamStatus(true);
    const o = await control.intent('BRB', 'dock');
    expect(o).toMatchObject({ ok: true, message: 'switched to BRB', scene: 'BRB' });
    expect(o.request_id).toBe(switcher.requests[0]?.requestId);
  });

  it('a guard refusal carries the guard as data, with the shared sentence', async () => {
    const { control, switcher, controller } = await controlRig();
    switcher.up = false;
    controller.scenePathChanged();
    const o = await control.intent('BRB', 'chat');
    expect(o).toMatchObject({
      ok: false,
      guard: 'scene_path',
      message: 'could not switch to BRB: the scene path to OBS is not ready',
    });
    expect(switcher.requests).toHaveLength(0);
    const missing = await (await controlRig()).control.switchScene('Nope', 'api');
    expect(missing).toMatchObject({
      ok: false,
      guard: 'scene_missing',
      message: expect.stringMatching(/no scene named "Nope"/),
    });
  });

  it('a switch that reached OBS and failed carries its switch error code, not a guard', async () => {
    const { control, switcher } = await controlRig();
    switcher.failWith = { code: 'deadline_exceeded', message: 'OBS did not confirm BRB within 550 ms' };
    const o = await control.intent('BRB', 'api');
    expect(o).toMatchObject({ ok: false, error_code: 'deadline_exceeded' });
    expect(o.guard).toBeUndefined();
  });

  it('the local API answers 409 blocked_by_guard for a guard and 422 switch_failed for a failed switch', async () => {
    const rig = await controlRig();
    const app = Fastify();
    registerApiRoutes(app, {
      control: rig.control,
      state: () => ({}),
      diagnostics: () => rig.controller.diagnostics(),
      flags: () => ({ ...rig.controller.state().flags }),
    });
    rig.switcher.up = false;
    rig.controller.scenePathChanged();
    const blocked = await app.inject({ method: 'POST', url: '/api/intent', payload: { intent: 'BRB' } });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json()).toEqual({
      error: {
        code: 'blocked_by_guard',
        message: 'could not switch to BRB: the scene path to OBS is not ready',
        request_id: expect.any(String),
      },
    });
    rig.switcher.up = true;
    rig.controller.scenePathChanged();
    rig.switcher.failWith = { code: 'obs_rejected', message: 'OBS is busy' };
    const failed = await app.inject({ method: 'POST', url: '/api/intent', payload: { intent: 'BRB' } });
    expect(failed.statusCode).toBe(422);
    expect(failed.json()).toMatchObject({ error: { code: 'switch_failed' } });
    await app.close();
  });

  it("chat audits a guard refusal as blocked_by_guard with the guard's code", async () => {
    const rig = await controlRig();
    const actions = engineChatActions({
      control: rig.control,
      store: rig.store,
      scenes: () => rig.obs.st.scenes,
      status: () => {
        throw new Error('not used');
      },
    });
    rig.switcher.up = false;
    rig.controller.scenePathChanged();
    expect(await actions.explicitIntent('BRB', chatSource)).toMatchObject({
      ok: false,
      blocked_by_guard: 'scene_path',
    });
  });
});

describe('EngineControl: stream start and stop', () => {
  it('!start answers only once OBS reports the output active', async () => {
    const { control, obs } = await controlRig();
    const started = Date.now();
    expect(await control.startStream()).toEqual({ ok: true, message: 'stream started' });
    expect(obs.st.streaming).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(obs.calls).toEqual(['StartStream']);
  });

  it('a start OBS accepted and then ignored (its last output still stopping) is sent once more', async () => {
    const { control, obs } = await controlRig();
    obs.ignoreNext = 1;
    expect(await control.startStream()).toEqual({ ok: true, message: 'stream started' });
    expect(obs.calls).toEqual(['StartStream', 'StartStream']);
  });

  it('says "already live" without asking OBS when it already streams', async () => {
    const { control, obs } = await controlRig();
    obs.st = { ...obs.st, streaming: true };
    expect(await control.startStream()).toEqual({ ok: true, message: 'already live' });
    expect(obs.calls).toEqual([]);
  });

  it('an output that never becomes active is a failure, not "stream started"', async () => {
    const { control, obs } = await controlRig();
    obs.streamStartsAfterMs = null;
    expect(await control.startStream()).toEqual({
      ok: false,
      message: 'OBS accepted but has not started the stream after 0.3 s',
    });
  });

  it('!stop waits for the output to stop, and says "not live" when nothing streams', async () => {
    const { control, obs } = await controlRig();
    expect(await control.stopStream()).toEqual({ ok: true, message: 'not live' });
    obs.st = { ...obs.st, streaming: true };
    expect(await control.stopStream()).toEqual({ ok: true, message: 'stream stopped' });
    expect(obs.st.streaming).toBe(false);
  });
});

describe('EngineControl: settings never switch by themselves', () => {
  it('a threshold or flag change persists and applies without sending a switch', async () => {
    const { control, switcher, controller, store } = await controlRig();
    controller.streamStatus(true);
    for (let i = 0; i < 4; i++)
      controller.feed({ health: 'low', source: 'phone', reason: 'bitrate 700 kb/s ≤ 800' });
    const sent = switcher.requests.length;
    expect(control.setThresholds({ low_bitrate_kbps: 500 })).toMatchObject({ ok: true });
    expect(control.setFlag('manual_override', false)).toMatchObject({ ok: true });
    expect(control.setFlag('only_while_streaming', false)).toMatchObject({ ok: true });
    expect(store.config.failover.low_bitrate_kbps).toBe(500);
    expect(store.config.automation.only_while_streaming).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(switcher.requests).toHaveLength(sent);
  });

  it('a value out of bounds is refused with the field and nothing changes', async () => {
    const { control, store } = await controlRig();
    const o = control.setThresholds({ low_bitrate_kbps: -1 });
    expect(o).toMatchObject({ ok: false, field_errors: { 'failover.low_bitrate_kbps': expect.any(String) } });
    expect(store.config.failover.low_bitrate_kbps).toBe(800);
  });
});
