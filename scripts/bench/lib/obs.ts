/** The headless OBS side of the benches: a streaming OBS, its transition, and the scenes it put on air. */
import { performance } from 'node:perf_hooks';
import type OBSWebSocket from 'obs-websocket-js';
import { type ObsHandle, type StartObsOptions, startObs } from '../../../test/support/obs-harness.js';
import { type SrtListener, startSrtListener } from '../../../test/support/srt.js';

export interface SceneChange {
  at: number;
  scene: string;
}

/** OBS's `CurrentProgramSceneChanged` events, stamped with the bench's clock as they arrive. */
export interface SceneLog {
  readonly changes: SceneChange[];
  /** When `scene` first went on air at or after `since`. */
  onAirAfter(scene: string, since: number): number | undefined;
  close(): void;
}

/**
 * `clock` must be the one the bench's own timestamps use (performance.now by default, Date.now when
 * the spans start at wall-clock moments).
 */
export function sceneLog(client: OBSWebSocket, clock: () => number = () => performance.now()): SceneLog {
  const changes: SceneChange[] = [];
  const listener = (e: { sceneName: string }) => changes.push({ at: clock(), scene: e.sceneName });
  client.on('CurrentProgramSceneChanged', listener);
  return {
    changes,
    onAirAfter: (scene, since) => changes.find((c) => c.at >= since && c.scene === scene)?.at,
    close: () => client.off('CurrentProgramSceneChanged', listener),
  };
}

/** Sets OBS's scene transition when `name` is given; says which one is in use, e.g. `Fade 300 ms`. */
export async function useTransition(client: OBSWebSocket, name?: string | null): Promise<string> {
  if (name) await client.call('SetCurrentSceneTransition', { transitionName: name });
  const t = (await client.call('GetCurrentSceneTransition')) as {
    transitionName: string;
    transitionDuration: number | null;
  };
  return `${t.transitionName}${t.transitionDuration ? ` ${t.transitionDuration} ms` : ''}`;
}

/**
 * A headless OBS streaming over SRT to a local `srt-live-transmit` listener, once the listener has
 * received its first 100 kB (the encoder is running).
 */
export async function startStreamingObs(
  opts: StartObsOptions & { srtPort: number },
): Promise<{ obs: ObsHandle; listener: SrtListener; stop(): Promise<void> }> {
  const obs = await startObs(opts);
  const listener = await startSrtListener({ port: opts.srtPort });
  const stop = async () => {
    await listener.stop();
    await obs.dispose();
  };
  try {
    await obs.setSrtStreamTarget(listener.url);
    await obs.startStream();
    await listener.waitForBytes(100_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { obs, listener, stop };
}
