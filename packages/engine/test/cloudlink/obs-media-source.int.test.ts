import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type OBSWebSocket from 'obs-websocket-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObsHandle, startObs } from '../../../../test/support/obs-harness.js';
import { ensureRelayMediaSource, fixMediaSources } from '../../src/cloudlink/obs-media-source.js';
import { tempHome } from './support/fixtures.js';

// Ports from this suite's range: obs-websocket 47910, relay egress (SRT/UDP) 47911.
const OBS_PORT = 47910;
const EGRESS_PORT = 47911;
const PASSPHRASE = 'EGRESSPASSPHRASE42';
// What the control plane hands out: ffmpeg (OBS's media source) reads `latency` in microseconds.
const OBS_SOURCE_URL = `srt://127.0.0.1:${EGRESS_PORT}?mode=caller&passphrase=${PASSPHRASE}&latency=200000`;
const INPUT = 'Telemy Relay';

/** Plays the relay's egress: an SRT listener with a passphrase that serves a test pattern to its caller. */
function startEgress(): ChildProcess {
  return spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=640x360:rate=30',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '30',
      '-f',
      'mpegts',
      `srt://127.0.0.1:${EGRESS_PORT}?mode=listener&passphrase=${PASSPHRASE}`,
    ],
    { stdio: 'ignore' },
  );
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('relay media source on a real OBS', () => {
  let obs: ObsHandle;
  let ws: OBSWebSocket;
  let egress: ChildProcess | null = null;
  let home: string;

  beforeAll(async () => {
    home = tempHome('obs-media');
    obs = await startObs({ port: OBS_PORT, password: null, scenes: ['LIVE', 'BRB'] });
    ws = await obs.client();
  });

  afterAll(async () => {
    egress?.kill('SIGKILL');
    await obs?.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('creates the source in the live scene, is idempotent, and the feed plays', async () => {
    const first = await ensureRelayMediaSource(ws, { sceneName: 'LIVE', url: OBS_SOURCE_URL });
    expect(first).toEqual({ input: 'created', addedToScene: false });

    const { inputSettings } = await ws.call('GetInputSettings', { inputName: INPUT });
    expect(inputSettings).toMatchObject({
      is_local_file: false,
      input: OBS_SOURCE_URL,
      input_format: 'mpegts',
    });
    const items = await ws.call('GetSceneItemList', { sceneName: 'LIVE' });
    expect(items.sceneItems.map((i) => i.sourceName)).toContain(INPUT);

    // OBS stores exactly what was sent: a second run finds nothing to change.
    expect(await ensureRelayMediaSource(ws, { sceneName: 'LIVE', url: OBS_SOURCE_URL })).toEqual({
      input: 'unchanged',
      addedToScene: false,
    });

    egress = startEgress();
    // The source reconnects by itself (reconnect_delay_sec) once the relay egress is up.
    const status = await until(
      () => ws.call('GetMediaInputStatus', { inputName: INPUT }),
      (s) => s.mediaState === 'OBS_MEDIA_STATE_PLAYING',
      20_000,
    );
    expect(status.mediaState).toBe('OBS_MEDIA_STATE_PLAYING');
    const itemId = (await ws.call('GetSceneItemId', { sceneName: 'LIVE', sourceName: INPUT })).sceneItemId;
    const transform = await until(
      () => ws.call('GetSceneItemTransform', { sceneName: 'LIVE', sceneItemId: itemId }),
      (t) => Number(t.sceneItemTransform.sourceWidth) === 640,
      10_000,
    );
    expect(transform.sceneItemTransform.sourceWidth).toBe(640);
  });

  it('follows a new relay URL and fixMediaSources restarts the input', async () => {
    const moved = OBS_SOURCE_URL.replace('latency=200000', 'latency=300000');
    expect(await ensureRelayMediaSource(ws, { sceneName: 'LIVE', url: moved })).toEqual({
      input: 'updated',
      addedToScene: false,
    });
    expect((await ws.call('GetInputSettings', { inputName: INPUT })).inputSettings.input).toBe(moved);

    // The first egress served one caller; a fresh one stands in for a relay that came back.
    egress?.kill('SIGKILL');
    egress = startEgress();
    const triggered = new Promise<{ inputName: string; mediaAction: string }>((resolve) =>
      ws.once('MediaInputActionTriggered', resolve),
    );
    await fixMediaSources(ws);
    expect(await triggered).toEqual({
      inputName: INPUT,
      mediaAction: 'OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART',
    });
    const status = await until(
      () => ws.call('GetMediaInputStatus', { inputName: INPUT }),
      (s) => s.mediaState === 'OBS_MEDIA_STATE_PLAYING',
      20_000,
    );
    expect(status.mediaState).toBe('OBS_MEDIA_STATE_PLAYING');
  });
});
