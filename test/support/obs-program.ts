/**
 * What OBS itself announced, for assertions that must not trust the engine's view: every program
 * scene change (CurrentProgramSceneChanged) and stream start/stop (StreamStateChanged), stamped with
 * `Date.now()` when it arrived.
 *
 * ```ts
 * const program = await ProgramLog.watch(obs);
 * const since = Date.now();
 * await feed.kill();
 * await program.onAir('BRB', since, 5000);
 * await obs.restart();
 * await program.watch(obs);   // the harness has a new client after a restart
 * ```
 */

import type { ObsHandle } from './obs-harness.js';
import { eventually } from './telemy-process.js';

export interface Stamped<T> {
  at: number;
  value: T;
}

export class ProgramLog {
  /** Program scenes in the order OBS announced them. */
  readonly scenes: Stamped<string>[] = [];
  /** true when the stream output started, false when it stopped. */
  readonly streaming: Stamped<boolean>[] = [];

  static async watch(obs: ObsHandle): Promise<ProgramLog> {
    const log = new ProgramLog();
    await log.watch(obs);
    return log;
  }

  /** Listens on the harness's current client (again after an OBS restart). */
  async watch(obs: ObsHandle): Promise<void> {
    const client = await obs.client();
    client.on('CurrentProgramSceneChanged', (e) => this.scenes.push({ at: Date.now(), value: e.sceneName }));
    client.on('StreamStateChanged', (e) => {
      if (e.outputState === 'OBS_WEBSOCKET_OUTPUT_STARTED')
        this.streaming.push({ at: Date.now(), value: true });
      if (e.outputState === 'OBS_WEBSOCKET_OUTPUT_STOPPED')
        this.streaming.push({ at: Date.now(), value: false });
    });
  }

  /** Resolves with when OBS announced `scene` on air, looking only at changes from `since` on. */
  async onAir(scene: string, since: number, timeoutMs = 10_000): Promise<number> {
    return (
      await eventually(() => this.scenes.find((p) => p.at >= since && p.value === scene)?.at, timeoutMs)
    ).value;
  }

  /** The scenes announced from `since` on, in order. */
  since(since: number): string[] {
    return this.scenes.filter((p) => p.at >= since).map((p) => p.value);
  }
}
