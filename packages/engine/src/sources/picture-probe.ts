import type { PictureObservation } from '../failover/machine.js';

/**
 * Does the OBS media source that plays the feed show the phone's NEW picture? Measured on OBS 29
 * with an `ffmpeg_source` pulling SRT (through a relay and directly, 120 ms and 2 s SRT latency):
 * - `mediaState` says PLAYING before the first frame, while buffering and on a frozen frame;
 * - `mediaCursor` follows the newest audio or video timestamp and moved up to 0.7 s before the new
 *   picture, while OBS still played the last frames of the previous stream;
 * - a 32 px PNG of the input (`GetSourceScreenshot`) is byte-identical while the picture is frozen,
 *   differs on every look while a camera or test pattern plays, and OBS answers "failed to render"
 *   (702) while it has no picture. That is the signal.
 * The rule: once the picture has been still (five identical looks) or absent, it counts as new when
 * every look has differed from the one before for `PICTURE_STEADY_MS` (one unchanged pair allowed).
 * That skipped the previous stream's leftover frames (at most 0.7 s of them, then stillness) in every
 * measured restart and confirmed the new picture 0.3–1 s after it appeared. Without stillness seen
 * (the probe started on a moving picture, or the phone was back before OBS's buffer ran dry), the
 * picture must move for `PICTURE_MOVING_MS`, longer than any leftover tail. Looked at every 100 ms,
 * only while LIVE is not on air.
 */

export const PICTURE_LOOK_MS = 100;
/** Moving for this long after stillness: new frames, not the old stream's tail. */
export const PICTURE_STEADY_MS = 800;
/** Moving for this long without stillness seen first: no leftover tail lasts that long. */
export const PICTURE_MOVING_MS = 2_000;
/** Identical looks in a row that mean "still": a frozen frame, a black source. */
const STILL_LOOKS = 5;
/** obs-websocket's "request processing failed" code, which GetSourceScreenshot answers with no picture. */
const NO_PICTURE = 702;

/** One look at the input: its thumbnail, or that OBS has no picture for it. */
export type PictureLook = { shot: string } | { noPicture: true };

export interface PictureTrack {
  /** Seen still or absent: whatever moves after that is the new stream. */
  armed: boolean;
  last: string | null;
  /** Identical looks in a row (1 = the last pair was identical). */
  same: number;
  /** When the current run of changing looks began. */
  movingSince: number | null;
}

export const NEW_TRACK: PictureTrack = { armed: false, last: null, same: 0, movingSince: null };

/** Pure: the track after one more look at `at`. */
export function trackPicture(t: PictureTrack, look: PictureLook, at: number): PictureTrack {
  if ('noPicture' in look) return { armed: true, last: null, same: 0, movingSince: null };
  if (t.last === null) return { ...t, last: look.shot, same: 0 };
  if (look.shot === t.last) {
    const same = t.same + 1;
    // One unchanged pair is a duplicated frame; two in a row is a stall.
    return {
      armed: t.armed || same >= STILL_LOOKS,
      last: look.shot,
      same,
      movingSince: same >= 2 ? null : t.movingSince,
    };
  }
  return { armed: t.armed, last: look.shot, same: 0, movingSince: t.movingSince ?? at };
}

/** Pure: what the track says about the picture at `at`. */
export function pictureVerdict(input: string, t: PictureTrack, at: number): PictureObservation {
  if (t.last === null) return { input, playing: false, detail: 'no picture yet' };
  if (t.movingSince === null) return { input, playing: false, detail: 'the picture is still' };
  const need = t.armed ? PICTURE_STEADY_MS : PICTURE_MOVING_MS;
  return at - t.movingSince >= need
    ? { input, playing: true, detail: 'new frames' }
    : { input, playing: false, detail: 'new frames starting' };
}

/** What the probe needs of OBS (the engine's `ObsLink`). */
export interface ScreenshotTaker {
  call(
    requestType: 'GetSourceScreenshot',
    data: { sourceName: string; imageFormat: string; imageWidth: number },
  ): Promise<{ imageData: string }>;
}

/**
 * Follows one input at a time (the one the feed plays through now). A look that fails for another
 * reason than "no picture" (the input does not exist, OBS does not answer) says nothing: the gate is
 * then off (`current()` null), so a missing input never holds LIVE back.
 */
export class PictureProbe {
  private input: string | null = null;
  private track: PictureTrack = NEW_TRACK;
  private known = false;

  constructor(
    private readonly obs: ScreenshotTaker,
    private readonly now: () => number,
  ) {}

  /** Which input plays the feed now; a change starts the judgement afresh. */
  watch(input: string | null): void {
    if (input === this.input) return;
    this.input = input;
    this.track = NEW_TRACK;
    this.known = false;
  }

  /** LIVE is on air again: the next time it is left, stillness must be seen anew. */
  reset(): void {
    this.track = NEW_TRACK;
  }

  current(): PictureObservation | null {
    return this.input !== null && this.known ? pictureVerdict(this.input, this.track, this.now()) : null;
  }

  async look(): Promise<void> {
    const input = this.input;
    if (input === null) return;
    const at = this.now();
    let look: PictureLook;
    try {
      const r = await this.obs.call('GetSourceScreenshot', {
        sourceName: input,
        imageFormat: 'png',
        imageWidth: 32,
      });
      look = { shot: r.imageData };
    } catch (err) {
      if ((err as { code?: unknown }).code !== NO_PICTURE) {
        if (this.input === input) this.known = false;
        return;
      }
      look = { noPicture: true };
    }
    if (this.input !== input) return;
    this.track = trackPicture(this.track, look, at);
    this.known = true;
  }
}
