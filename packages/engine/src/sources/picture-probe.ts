import type { PictureObservation } from '../state/engine.js';

/**
 * Does the OBS media source that plays the feed show new frames? Measured on OBS 29 with an
 * `ffmpeg_source` pulling SRT (directly and through a relay, 120 ms and 2 s SRT latency): its
 * `mediaState` says PLAYING all along — before the first frame, while buffering, with the last
 * frame frozen after the publisher died — so it proves nothing. Its `mediaCursor` advances only
 * while frames are decoded: the first advance came with the first new picture (within one 100 ms
 * poll) and it stood still for as long as the picture was frozen or empty. So: playing = PLAYING and
 * the cursor moved since the previous look.
 */

/** One `GetMediaInputStatus` answer. */
export interface MediaReading {
  state: string | null;
  cursorMs: number | null;
}

export function readMediaStatus(data: unknown): MediaReading {
  const d = (data ?? {}) as { mediaState?: unknown; mediaCursor?: unknown };
  return {
    state:
      typeof d.mediaState === 'string' ? d.mediaState.replace(/^OBS_MEDIA_STATE_/, '').toLowerCase() : null,
    cursorMs: typeof d.mediaCursor === 'number' && Number.isFinite(d.mediaCursor) ? d.mediaCursor : null,
  };
}

/** Pure: the verdict on `cur`, given the reading before it (null for the first look). */
export function judgePicture(
  input: string,
  prev: MediaReading | null,
  cur: MediaReading,
): PictureObservation {
  if (cur.state !== 'playing')
    return { input, playing: false, detail: `media source ${cur.state ?? 'state unknown'}` };
  if (cur.cursorMs === null) return { input, playing: false, detail: 'no playback position yet' };
  if (prev === null || prev.cursorMs === null)
    return { input, playing: false, detail: 'checking for new frames' };
  return cur.cursorMs !== prev.cursorMs
    ? { input, playing: true, detail: 'new frames' }
    : { input, playing: false, detail: 'no new frames yet' };
}

/** What the probe needs of OBS (the engine's `ObsLink`). */
export interface MediaStatusReader {
  call(requestType: 'GetMediaInputStatus', data: { inputName: string }): Promise<unknown>;
}

/**
 * Looks at one input at a time (the one the feed plays through now). A look that fails says
 * nothing about the picture: the gate is then off (`null`), so a missing input never holds LIVE.
 */
export class PictureProbe {
  private input: string | null = null;
  private prev: MediaReading | null = null;
  private verdict: PictureObservation | null = null;

  constructor(private readonly obs: MediaStatusReader) {}

  /** Which input plays the feed now; a change starts the judgement afresh. */
  watch(input: string | null): void {
    if (input === this.input) return;
    this.input = input;
    this.prev = null;
    this.verdict = null;
  }

  /** The last verdict for the watched input, or null without one (no gate). */
  current(): PictureObservation | null {
    return this.input === null ? null : this.verdict;
  }

  async look(): Promise<void> {
    const input = this.input;
    if (input === null) return;
    let cur: MediaReading;
    try {
      cur = readMediaStatus(await this.obs.call('GetMediaInputStatus', { inputName: input }));
    } catch {
      if (this.input === input) {
        this.prev = null;
        this.verdict = null;
      }
      return;
    }
    if (this.input !== input) return;
    this.verdict = judgePicture(input, this.prev, cur);
    this.prev = cur;
  }
}
