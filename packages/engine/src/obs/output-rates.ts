/**
 * Pure sampling math for OBS outputs: cumulative counters in, instantaneous rates out.
 *
 * Rates always come from the difference between two samples divided by the real time between
 * them — never from lifetime totals divided by duration (that average hides a collapsing stream).
 */

/** One reading of an output's cumulative counters (`GetOutputStatus` / `GetStreamStatus`). */
export interface OutputCounters {
  /** Epoch ms when the reading arrived. */
  at: number;
  active: boolean;
  bytes: number;
  totalFrames: number;
  skippedFrames: number;
}

export interface OutputRates {
  /** kbit/s between the two samples; 0 when the output is inactive; null when not yet known. */
  bitrateKbps: number | null;
  fps: number | null;
  /** Skipped / (total) frames produced between the two samples; null when no frames were produced. */
  dropRatio: number | null;
}

const UNKNOWN: OutputRates = { bitrateKbps: null, fps: null, dropRatio: null };
const STOPPED: OutputRates = { bitrateKbps: 0, fps: 0, dropRatio: null };

export function outputRates(prev: OutputCounters | undefined, cur: OutputCounters): OutputRates {
  if (!cur.active) return STOPPED;
  // A rate needs two readings of the same run: no previous, a previous from a stopped run, or
  // counters that went backwards (OBS restarted the output) leave the rate unknown for one tick.
  if (!prev?.active) return UNKNOWN;
  const elapsedMs = cur.at - prev.at;
  if (!(elapsedMs > 0)) return UNKNOWN;
  const dBytes = cur.bytes - prev.bytes;
  const dFrames = cur.totalFrames - prev.totalFrames;
  const dSkipped = cur.skippedFrames - prev.skippedFrames;
  if (dBytes < 0 || dFrames < 0 || dSkipped < 0) return UNKNOWN;
  return {
    // bytes * 8 / 1000 = kbit; ms / 1000 = s → the thousands cancel.
    bitrateKbps: (dBytes * 8) / elapsedMs,
    fps: (dFrames * 1000) / elapsedMs,
    dropRatio: dFrames > 0 ? Math.min(1, dSkipped / dFrames) : null,
  };
}

/**
 * How much a Prometheus counter mirroring a cumulative OBS counter must grow. A first reading
 * counts in full (the counter then equals OBS's total); a smaller reading means OBS restarted and
 * its new total is all new.
 */
export function counterIncrement(prev: number | undefined, cur: number): number {
  if (!Number.isFinite(cur) || cur < 0) return 0;
  if (prev === undefined || cur < prev) return cur;
  return cur - prev;
}

/** One `GetStats` reading of the video mix's encoding-lag counter (`outputSkippedFrames`). */
export interface EncoderLagCounters {
  /** Epoch ms when the reading arrived. */
  at: number;
  /**
   * Frames OBS's video output thread skipped because its encoders had not taken the previous ones
   * yet — the "skipped frames due to encoding lag" of OBS's stats window. Not a network drop.
   */
  skippedFrames: number;
}

/**
 * Encoder lag over the interval between two readings, in milliseconds of video per second of wall
 * time that the encoder failed to deliver: the frames skipped for encoding lag in the interval,
 * turned into video time with the frame rate (`fps`), divided by the interval's length. 0 means the
 * encoders kept up; at 1000 they delivered nothing. Null without a previous reading, a usable frame
 * rate or an advancing clock. A smaller reading means OBS restarted or reset its video: as for the
 * Prometheus counters, its whole new count happened within this interval.
 */
export function encodingLagMs(
  prev: EncoderLagCounters | undefined,
  cur: EncoderLagCounters,
  fps: number | null,
): number | null {
  if (!prev || fps === null || !(fps > 0)) return null;
  const elapsedMs = cur.at - prev.at;
  if (!(elapsedMs > 0)) return null;
  const skipped = counterIncrement(prev.skippedFrames, cur.skippedFrames);
  // skipped / fps s of video = skipped * 1000 / fps ms, per elapsedMs / 1000 s of wall time.
  return (skipped * 1_000_000) / (fps * elapsedMs);
}

/**
 * The stream's upload rate over the last `windowMs` (at least), from the readings kept in
 * `history` (oldest first, same run): the rate the `obs_output` feed source judges. One sample
 * interval is too short for OBS's own output: x264 and the network send in bursts, and a reading
 * that comes back late shifts bytes between intervals, so on a busy PC single intervals dip
 * without the stream being in trouble. Null until the readings span `minSpanMs`.
 */
export function windowedBitrateKbps(
  history: readonly OutputCounters[],
  windowMs: number,
  minSpanMs: number,
): number | null {
  const cur = history.at(-1);
  if (!cur?.active) return null;
  let ref: OutputCounters | undefined;
  for (const h of history) {
    if (h.at <= cur.at - windowMs) ref = h;
  }
  ref ??= history[0];
  if (!ref || cur.at - ref.at < minSpanMs) return null;
  const dBytes = cur.bytes - ref.bytes;
  return dBytes < 0 ? null : (dBytes * 8) / (cur.at - ref.at);
}
