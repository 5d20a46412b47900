import type { ObsLink } from '../obs/obs-link.js';
import type { SceneSwitcher, SwitchRequest, SwitchResult } from './scene-switcher.js';

/** The little of an obs-websocket session the direct switcher needs (the engine's `ObsLink` provides it). */
export interface ObsRequester {
  identified(): boolean;
  // biome-ignore lint/suspicious/noExplicitAny: obs-websocket responses are typed per request by the caller
  call(requestType: string, requestData?: Record<string, unknown>): Promise<any>;
  /** Subscribes to `CurrentProgramSceneChanged`; returns the unsubscribe function. */
  onSceneChanged(cb: (scene: string) => void): () => void;
}

export function obsLinkRequester(link: ObsLink): ObsRequester {
  return {
    identified: () => link.connected,
    call: (type, data) =>
      (link.call as (t: string, d?: Record<string, unknown>) => Promise<unknown>)(type, data),
    onSceneChanged: (cb) => {
      link.on('sceneChanged', cb);
      return () => link.off('sceneChanged', cb);
    },
  };
}

/** How long to wait for the change event after OBS accepted the request before reading the scene back. */
const EVENT_GRACE_MS = 50;

/**
 * Switches scenes directly over obs-websocket (`telemy engine` without a shim). A switch counts as
 * done only when OBS confirms it: the `CurrentProgramSceneChanged` event, or a read-back of the
 * program scene; past the deadline it fails with the reason.
 */
export class DirectSceneSwitcher implements SceneSwitcher {
  private readonly now: () => number;

  constructor(
    private readonly obs: ObsRequester,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  ready(): boolean {
    return this.obs.identified();
  }

  async switchScene(req: SwitchRequest): Promise<SwitchResult> {
    const start = this.now();
    const done = (ok: boolean, error: string | null): SwitchResult => ({
      ok,
      error,
      latencyMs: this.now() - start,
    });
    if (!this.obs.identified()) return done(false, 'OBS is not connected');

    let confirmed = false;
    let onConfirm: () => void = () => {};
    const confirmation = new Promise<void>((resolve) => {
      onConfirm = resolve;
    });
    const unsubscribe = this.obs.onSceneChanged((scene) => {
      if (scene !== req.scene) return;
      confirmed = true;
      onConfirm();
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), req.deadlineMs);
    });
    const late = () => done(false, `OBS did not confirm ${req.scene} within ${req.deadlineMs} ms`);
    try {
      const sent = this.obs.call('SetCurrentProgramScene', { sceneName: req.scene }).then(
        () => null,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      const answer = await Promise.race([sent, deadline]);
      if (answer === 'deadline') return late();
      if (answer !== null) return done(false, answer);
      if (confirmed) return done(true, null);
      const early = await Promise.race([
        confirmation.then(() => 'event' as const),
        sleep(EVENT_GRACE_MS),
        deadline,
      ]);
      if (early === 'event') return done(true, null);
      if (early === 'deadline') return late();
      // OBS sends no change event when the scene was already on air: read it back.
      const readBack = this.obs
        .call('GetCurrentProgramScene')
        .then(
          (r: { currentProgramSceneName?: string; sceneName?: string }) =>
            r.currentProgramSceneName ?? r.sceneName,
        )
        .catch(() => undefined);
      const result = await Promise.race([readBack, confirmation.then(() => req.scene), deadline]);
      if (confirmed || result === req.scene) return done(true, null);
      if (result === 'deadline') return late();
      const final = await Promise.race([confirmation.then(() => 'event' as const), deadline]);
      return final === 'event' ? done(true, null) : late();
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }
}

function sleep(ms: number): Promise<'slept'> {
  return new Promise((resolve) => setTimeout(() => resolve('slept'), ms));
}
