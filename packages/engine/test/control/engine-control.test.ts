import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { engineChatActions } from '../../src/control/chat-actions.js';
import { EngineControl } from '../../src/control/engine-control.js';
import { ObsNotConnectedError, ObsRequestError } from '../../src/obs/obs-link.js';
import { registerApiRoutes } from '../../src/server/api-routes.js';
import { controlRig, silent } from './fixtures.js';

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

describe('EngineControl: OBS refusals in words', () => {
  it('a refusal without a comment says what the status means, not its number', async () => {
    const { control, obs } = await controlRig();
    obs.refusals.ToggleRecord = new ObsRequestError('ToggleRecord', 504, '');
    const o = await control.toggleRecord();
    expect(o).toEqual({ ok: false, message: 'OBS refused: the output is disabled in OBS' });
    expect(o.message).not.toMatch(/\d{3}/);
  });

  it("OBS's own comment is kept when it gave one", async () => {
    const { control, obs } = await controlRig();
    obs.refusals.StartStream = new ObsRequestError('StartStream', 702, 'No stream key set.');
    expect(await control.startStream()).toEqual({ ok: false, message: 'OBS refused: No stream key set' });
  });

  it('a start that finds the output already running (before its event arrived) is "already live"', async () => {
    const { control, obs } = await controlRig();
    obs.refusals.StartStream = new ObsRequestError('StartStream', 500, '');
    expect(await control.startStream()).toEqual({ ok: true, message: 'already live' });
    obs.st = { ...obs.st, streaming: true };
    obs.refusals.StopStream = new ObsRequestError('StopStream', 501, '');
    expect(await control.stopStream()).toEqual({ ok: true, message: 'not live' });
  });

  it('OBS not connected is said as such', async () => {
    const { control, obs } = await controlRig();
    obs.refusals.ToggleRecord = new ObsNotConnectedError();
    expect(await control.toggleRecord()).toEqual({ ok: false, message: 'OBS is not connected' });
  });
});

describe('EngineControl: !refresh restarts the media source that plays the feed', () => {
  async function rigWithFeed(input: string | null) {
    const rig = await controlRig();
    const control = new EngineControl({
      controller: rig.controller,
      obs: rig.obs.asLink(),
      store: rig.store,
      vault: rig.vault,
      cloud: () => null,
      logger: silent,
      feedInput: () => input,
    });
    return { ...rig, control };
  }

  it('restarts that one input with the restart media action', async () => {
    const { control, obs } = await rigWithFeed('Phone');
    const sent: unknown[] = [];
    const call = obs.call.bind(obs);
    obs.call = async (request: string, data?: unknown) => {
      sent.push([request, data]);
      return call(request);
    };
    expect(await control.refreshFeedSource()).toEqual({ ok: true, message: 'restarted Phone' });
    expect(sent).toEqual([
      [
        'TriggerMediaInputAction',
        { inputName: 'Phone', mediaAction: 'OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART' },
      ],
    ]);
  });

  it('says how to name the source when none is known, without asking OBS', async () => {
    const { control, obs } = await rigWithFeed(null);
    const o = await control.refreshFeedSource();
    expect(o).toMatchObject({ ok: false, message: expect.stringMatching(/input = .* \[\[sources\]\]/) });
    expect(obs.calls).toEqual([]);
  });

  it('names the input and the refusal when OBS has no such source', async () => {
    const { control, obs } = await rigWithFeed('Phone');
    obs.refusals.TriggerMediaInputAction = new ObsRequestError('TriggerMediaInputAction', 600, '');
    expect(await control.refreshFeedSource()).toEqual({
      ok: false,
      message: 'could not restart Phone: OBS refused: it does not exist in OBS',
    });
  });

  it('chat !refresh goes through the same path', async () => {
    const { control, store, obs } = await rigWithFeed('Telemy Relay');
    const actions = engineChatActions({
      control,
      store,
      scenes: () => obs.st.scenes,
      status: () => {
        throw new Error('not used');
      },
    });
    expect(await actions.refreshFeedSource(chatSource)).toMatchObject({
      ok: true,
      reply: 'restarted Telemy Relay',
    });
  });
});

describe('chat settings saved by the engine', () => {
  it('!notify and !prefix are written to [chat] in the config file', async () => {
    const { control, store, obs } = await controlRig();
    const actions = engineChatActions({
      control,
      store,
      scenes: () => obs.st.scenes,
      status: () => {
        throw new Error('not used');
      },
    });
    expect(await actions.setNotify(true, chatSource)).toMatchObject({ ok: true });
    expect(await actions.setPrefix('?', chatSource)).toMatchObject({ ok: true });
    expect(store.config.chat).toMatchObject({ announce_auto_switch: true, prefix: '?' });
    expect(readFileSync(store.path, 'utf8')).toMatch(/^prefix = "\?"$/m);
  });

  it('a prefix the config refuses is not saved, and says so', async () => {
    const { control, store, obs } = await controlRig();
    const actions = engineChatActions({
      control,
      store,
      scenes: () => obs.st.scenes,
      status: () => {
        throw new Error('not used');
      },
    });
    expect(await actions.setPrefix('abc', chatSource)).toMatchObject({
      ok: false,
      reply: 'could not save the prefix',
    });
    expect(store.config.chat.prefix).toBe('!');
  });
});
