/**
 * OBS on air the way a studio is: its stream output pointed at a local SRT listener that counts what
 * arrives, a scene on program, and the stream started.
 *
 * ```ts
 * const out = await streamOut(obs, 47790);
 * await out.waitForBytes(100_000);
 * await out.stop();
 * ```
 */
import type { ObsHandle } from './obs-harness.js';
import { type SrtListener, startSrtListener } from './srt.js';

export async function streamOut(obs: ObsHandle, port: number, scene = 'LIVE'): Promise<SrtListener> {
  const out = await startSrtListener({ port });
  try {
    await obs.setSrtStreamTarget(out.url);
    await obs.setScene(scene);
    await obs.startStream();
    return out;
  } catch (err) {
    await out.stop();
    throw err;
  }
}
