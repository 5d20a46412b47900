import type { SwitchError } from '../automation.js';
import { errorText } from '../error-text.js';

/**
 * The one confirmed scene switch, used by the engine's direct path and by the shim: a switch counts
 * as done only when OBS confirms the new program scene (its `CurrentProgramSceneChanged` event, or a
 * read-back when no event comes), before the deadline; otherwise it fails with a `SwitchError`.
 */

/** The little of an obs-websocket v5 session a switch needs; both callers adapt their client to it. */
export interface SceneSwitchPort {
  /** The session is identified and can take requests. */
  identified(): boolean;
  /** `SetCurrentProgramScene`; rejects with OBS's error (its numeric `code` when OBS answered). */
  setProgramScene(scene: string): Promise<void>;
  /** `GetCurrentProgramScene`. */
  programScene(): Promise<string | null>;
  /** Subscribes to `CurrentProgramSceneChanged`; returns the unsubscribe function. */
  onSceneChanged(listener: (scene: string) => void): () => void;
}

export type ConfirmedSwitchResult =
  | { ok: true; error: null; latencyMs: number }
  | { ok: false; error: SwitchError; latencyMs: number };

/**
 * After OBS accepted the request, how long to wait for its change event before reading the scene
 * back. OBS sends no event when the scene was already on air, so the read-back is what confirms then.
 */
export const CONFIRM_BY_EVENT_MS = 50;

/** obs-websocket's `ResourceNotFound` request status: the scene name does not exist. */
const OBS_RESOURCE_NOT_FOUND = 600;

export async function confirmedSwitch(
  port: SceneSwitchPort,
  scene: string,
  deadlineMs: number,
  now: () => number = () => performance.now(),
): Promise<ConfirmedSwitchResult> {
  const start = now();
  const done = (error: SwitchError | null): ConfirmedSwitchResult =>
    error === null
      ? { ok: true, error: null, latencyMs: now() - start }
      : { ok: false, error, latencyMs: now() - start };
  if (!port.identified()) return done({ code: 'obs_not_connected', message: 'OBS is not connected' });

  let confirmed = false;
  let onConfirm: () => void = () => {};
  const confirmation = new Promise<'event'>((resolve) => {
    onConfirm = () => resolve('event');
  });
  const unsubscribe = port.onSceneChanged((s) => {
    if (s !== scene) return;
    confirmed = true;
    onConfirm();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs));
  });
  const late = (what: string) =>
    done({ code: 'deadline_exceeded', message: `OBS did not ${what} ${scene} within ${deadlineMs} ms` });
  try {
    const sent = port.setProgramScene(scene).then(
      () => null,
      (err: unknown) => err,
    );
    const answer = await Promise.race([sent, deadline]);
    if (answer === 'deadline') return late('take');
    if (answer !== null) return done(rejection(answer, scene));
    if (confirmed) return done(null);
    const early = await Promise.race([confirmation, pause(CONFIRM_BY_EVENT_MS), deadline]);
    if (early === 'event') return done(null);
    if (early === 'deadline') return late('confirm');
    const readBack = port.programScene().catch(() => null);
    const seen = await Promise.race([readBack, confirmation, deadline]);
    if (confirmed || seen === scene) return done(null);
    if (seen === 'deadline') return late('confirm');
    // Another scene is still on program: the event may yet come before the deadline.
    const final = await Promise.race([confirmation, deadline]);
    if (final === 'event') return done(null);
    return done({
      code: 'not_confirmed',
      message: `OBS still shows ${seen ?? 'another scene'} instead of ${scene}`,
    });
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}

function rejection(err: unknown, scene: string): SwitchError {
  const code = (err as { code?: unknown } | null)?.code;
  const text = errorText(err);
  if (code === OBS_RESOURCE_NOT_FOUND) {
    return { code: 'scene_missing', message: `OBS has no scene named "${scene}"` };
  }
  return { code: 'obs_rejected', message: text.slice(0, 200) };
}

function pause(ms: number): Promise<'paused'> {
  return new Promise((resolve) => setTimeout(() => resolve('paused'), ms));
}
