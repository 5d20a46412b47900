import { describe, expect, it } from 'vitest';
import {
  ensureRelayMediaSource,
  fixMediaSources,
  type ObsRequester,
} from '../../src/cloudlink/obs-media-source.js';

const URL_A = 'srt://203.0.113.7:9001?mode=caller&passphrase=EGRESSPASSPHRASE1&latency=200000';
const URL_B = 'srt://203.0.113.8:9001?mode=caller&passphrase=EGRESSPASSPHRASE2&latency=200000';

const EXPECTED_SETTINGS = (url: string) => ({
  is_local_file: false,
  input: url,
  input_format: 'mpegts',
  buffering_mb: 1,
  reconnect_delay_sec: 1,
  restart_on_activate: false,
  close_when_inactive: false,
  clear_on_media_end: true,
});

/** Records every request and answers like obs-websocket 5 would for a tiny in-memory OBS. */
class FakeObs implements ObsRequester {
  calls: { type: string; data: Record<string, unknown> | undefined }[] = [];
  inputs = new Map<string, { kind: string; settings: Record<string, unknown> }>();
  scenes = new Map<string, string[]>([['LIVE', ['Camera']]]);

  async call(type: string, data?: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ type, data });
    const d = data ?? {};
    switch (type) {
      case 'GetInputList':
        return {
          inputs: [...this.inputs].map(([inputName, i]) => ({
            inputName,
            inputKind: i.kind,
            unversionedInputKind: i.kind,
          })),
        };
      case 'CreateInput': {
        const scene = this.scenes.get(d.sceneName as string);
        if (!scene) throw new Error('scene not found');
        this.inputs.set(d.inputName as string, {
          kind: d.inputKind as string,
          settings: { ...(d.inputSettings as object) },
        });
        scene.push(d.inputName as string);
        return { sceneItemId: scene.length };
      }
      case 'GetInputSettings': {
        const i = this.inputs.get(d.inputName as string);
        return { inputKind: i?.kind, inputSettings: { ...i?.settings } };
      }
      case 'SetInputSettings': {
        const i = this.inputs.get(d.inputName as string)!;
        i.settings = { ...i.settings, ...(d.inputSettings as object) };
        return {};
      }
      case 'GetSceneItemList':
        return {
          sceneItems: (this.scenes.get(d.sceneName as string) ?? []).map((sourceName) => ({ sourceName })),
        };
      case 'CreateSceneItem':
        this.scenes.get(d.sceneName as string)?.push(d.sourceName as string);
        return { sceneItemId: 9 };
      case 'TriggerMediaInputAction':
        return {};
      default:
        throw new Error(`unexpected request ${type}`);
    }
  }

  types(): string[] {
    return this.calls.map((c) => c.type);
  }
}

describe('relay OBS media source', () => {
  it('creates an ffmpeg_source in the live scene with SRT-friendly settings', async () => {
    const obs = new FakeObs();
    const res = await ensureRelayMediaSource(obs, { sceneName: 'LIVE', url: URL_A });
    expect(res).toEqual({ input: 'created', addedToScene: false });
    expect(obs.types()).toEqual(['GetInputList', 'CreateInput']);
    expect(obs.calls[1]?.data).toEqual({
      sceneName: 'LIVE',
      inputName: 'Telemy Relay',
      inputKind: 'ffmpeg_source',
      inputSettings: EXPECTED_SETTINGS(URL_A),
      sceneItemEnabled: true,
    });
    expect(obs.scenes.get('LIVE')).toEqual(['Camera', 'Telemy Relay']);
  });

  it('is idempotent: a second run with the same URL changes nothing', async () => {
    const obs = new FakeObs();
    await ensureRelayMediaSource(obs, { sceneName: 'LIVE', url: URL_A });
    obs.calls = [];
    const res = await ensureRelayMediaSource(obs, { sceneName: 'LIVE', url: URL_A });
    expect(res).toEqual({ input: 'unchanged', addedToScene: false });
    expect(obs.types()).toEqual(['GetInputList', 'GetInputSettings', 'GetSceneItemList']);
  });

  it('updates the URL of an existing source in place (overlay) under a configured name', async () => {
    const obs = new FakeObs();
    await ensureRelayMediaSource(obs, { sceneName: 'LIVE', inputName: 'Phone', url: URL_A });
    obs.calls = [];
    const res = await ensureRelayMediaSource(obs, { sceneName: 'LIVE', inputName: 'Phone', url: URL_B });
    expect(res).toEqual({ input: 'updated', addedToScene: false });
    expect(obs.types()).toEqual(['GetInputList', 'GetInputSettings', 'SetInputSettings', 'GetSceneItemList']);
    expect(obs.calls[2]?.data).toEqual({
      inputName: 'Phone',
      inputSettings: EXPECTED_SETTINGS(URL_B),
      overlay: true,
    });
    expect(obs.inputs.get('Phone')?.settings.input).toBe(URL_B);
  });

  it('adds an existing source that is missing from the live scene', async () => {
    const obs = new FakeObs();
    obs.inputs.set('Telemy Relay', { kind: 'ffmpeg_source', settings: EXPECTED_SETTINGS(URL_A) });
    const res = await ensureRelayMediaSource(obs, { sceneName: 'LIVE', url: URL_A });
    expect(res).toEqual({ input: 'unchanged', addedToScene: true });
    expect(obs.calls.at(-1)).toEqual({
      type: 'CreateSceneItem',
      data: { sceneName: 'LIVE', sourceName: 'Telemy Relay', sceneItemEnabled: true },
    });
  });

  it('refuses to repurpose an input of another kind with that name', async () => {
    const obs = new FakeObs();
    obs.inputs.set('Telemy Relay', { kind: 'browser_source', settings: {} });
    await expect(ensureRelayMediaSource(obs, { sceneName: 'LIVE', url: URL_A })).rejects.toThrow(
      /browser_source, not a media source/,
    );
    expect(obs.types()).toEqual(['GetInputList']);
  });

  it('fixMediaSources restarts the relay input', async () => {
    const obs = new FakeObs();
    await fixMediaSources(obs, 'Phone');
    expect(obs.calls).toEqual([
      {
        type: 'TriggerMediaInputAction',
        data: { inputName: 'Phone', mediaAction: 'OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART' },
      },
    ]);
  });
});
