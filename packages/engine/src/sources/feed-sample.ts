import type { SrtInterval } from './srt-rate-window.js';

/** One reading of an ingest source, normalised across formats. Absent values are null, never 0. */
export interface FeedSample {
  /** The configured source name. */
  source: string;
  /** Engine clock (ms) when the reading was taken or received. */
  at: number;
  /** The publisher is connected and sending (or, for OBS sources, the output/media is active). */
  connected: boolean;
  bitrate_kbps: number | null;
  rtt_ms: number | null;
  loss_pct: number | null;
  /** Why the source counts as offline or unknown, or a note about the reading. */
  reason?: string;
  /** The source could not tell this time (OBS not streaming or not answering): no evidence either way. */
  unknown?: true;
  /** The bitrate is shown but not held against the thresholds (OBS's own output). */
  unjudged?: true;
  /** Fields the payload lacked or had with the wrong type (logged once per source and field). */
  missing?: string[];
}

/** What a parser makes of one payload: a reading, or "offline" with the reason. */
export type ParseOutcome =
  | {
      kind: 'sample';
      connected: boolean;
      bitrate_kbps: number | null;
      rtt_ms: number | null;
      loss_pct: number | null;
      /** Lifetime byte counter, for formats that only report totals (the poller derives a rate). */
      bytes_total?: number;
      /** One srt-live-transmit line's interval counters (the stats tail derives a windowed rate). */
      srt_interval?: SrtInterval;
      missing: string[];
      reason?: string;
      /** false: report the bitrate, do not judge it against the thresholds. */
      judged?: false;
    }
  | { kind: 'offline'; reason: string }
  /** Nothing can be said about the feed this time; it holds the scene, it never switches one. */
  | { kind: 'unknown'; reason: string };

export function toSample(outcome: ParseOutcome, source: string, at: number): FeedSample {
  if (outcome.kind !== 'sample') {
    return {
      source,
      at,
      connected: false,
      bitrate_kbps: null,
      rtt_ms: null,
      loss_pct: null,
      reason: outcome.reason,
      ...(outcome.kind === 'unknown' ? { unknown: true as const } : {}),
    };
  }
  const sample: FeedSample = {
    source,
    at,
    connected: outcome.connected,
    bitrate_kbps: outcome.bitrate_kbps,
    rtt_ms: outcome.rtt_ms,
    loss_pct: outcome.loss_pct,
  };
  if (outcome.reason !== undefined) sample.reason = outcome.reason;
  if (outcome.missing.length > 0) sample.missing = outcome.missing;
  if (outcome.judged === false) sample.unjudged = true;
  return sample;
}
