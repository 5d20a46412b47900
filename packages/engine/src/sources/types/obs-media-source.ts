import { errorText } from '@telemy/protocol';
import { ObsRequestError } from '../../obs/obs-link.js';
import { type ParseOutcome, toSample } from '../feed-sample.js';
import type { SourceModule } from '../source-module.js';
import { isObject } from '../stats-json.js';

/**
 * OBS `GetMediaInputStatus` response data. Only PLAYING shows a live picture; OPENING/BUFFERING
 * (a media source reconnecting) shows a frozen or black frame, so it counts as offline like the rest.
 */
export function parseObsMediaStatus(data: unknown): ParseOutcome {
  if (!isObject(data) || typeof data.mediaState !== 'string') {
    return { kind: 'offline', reason: 'obs media source: no mediaState' };
  }
  const state = data.mediaState.replace(/^OBS_MEDIA_STATE_/, '').toLowerCase();
  if (state === 'playing')
    return { kind: 'sample', connected: true, bitrate_kbps: null, rtt_ms: null, loss_pct: null, missing: [] };
  return { kind: 'offline', reason: `obs media source ${state}` };
}

/**
 * A failed `GetMediaInputStatus`: OBS answering that the input is missing is a broken source
 * (offline, with the reason); OBS not answering in time or not connected says nothing (unknown).
 */
export function mediaInputFailure(input: string, err: unknown): ParseOutcome {
  const message = errorText(err);
  if (err instanceof ObsRequestError)
    return { kind: 'offline', reason: `OBS media input ${input}: ${message}` };
  return { kind: 'unknown', reason: `OBS media input ${input}: ${message}` };
}

/** An OBS media source (`input`) that plays the feed: its media state, asked every sample interval. */
export const source: SourceModule = {
  runner: (ctx) => {
    const input = ctx.config.input ?? '';
    return ctx.every(ctx.intervalMs, async () => {
      const at = ctx.now();
      const outcome: ParseOutcome = await ctx.obs
        .call('GetMediaInputStatus', { inputName: input })
        .then(parseObsMediaStatus, (err: unknown) => mediaInputFailure(input, err));
      ctx.ingest(toSample(outcome, ctx.config.name, at));
    });
  },
};
