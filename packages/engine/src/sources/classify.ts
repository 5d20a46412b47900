import type { FeedClass } from '@telemy/protocol';
import type { FeedObservation } from '../failover/machine.js';
import type { FailoverParams } from '../failover/params.js';
import type { FeedSample } from './feed-sample.js';

export type FeedThresholds = Pick<
  FailoverParams,
  | 'low_bitrate_kbps'
  | 'offline_bitrate_kbps'
  | 'low_rtt_ms'
  | 'offline_rtt_ms'
  | 'offline_after_ms'
  | 'sample_interval_ms'
>;

/** Per-source memory the classifier needs: since when a connected source has reported 0 kb/s. */
export interface FeedHistory {
  zeroSince: number | null;
}

export const EMPTY_HISTORY: FeedHistory = { zeroSince: null };

export interface Classification {
  health: FeedClass;
  reason: string;
  history: FeedHistory;
  /** When this condition began, when the source can tell (stale: its last sample). */
  since?: number;
}

/**
 * Classifies one source's newest sample. Pure: the caller keeps the
 * returned history for the next call. Thresholds of 0 are disabled.
 */
/** Below this a source's sample period is treated as bursts of one reading, not its real cadence. */
const MIN_SOURCE_PERIOD_MS = 50;

/**
 * How old a source's newest sample may get before the source counts as stale: `offline_after_ms`
 * plus one sample interval. "One sample interval" is the source's own cadence when it
 * reports faster than the engine samples (srt-live-transmit writes a line every ~100 ms): waiting a
 * whole engine interval for a source that is ~5 readings late only delays BRB.
 */
export function staleAfterMs(t: FeedThresholds, sourcePeriodMs: number | null): number {
  const period =
    sourcePeriodMs === null
      ? t.sample_interval_ms
      : Math.min(t.sample_interval_ms, Math.max(MIN_SOURCE_PERIOD_MS, sourcePeriodMs));
  return t.offline_after_ms + period;
}

/**
 * Classifies `sample` as of `lookedAt`: the last time the engine looked at the source (a poll that
 * answered, a read of the stats file), not the wall clock. A slow answer or an engine that did not
 * look (busy, stalled) ages nothing; only a look that found nothing new does.
 */
export function classifyFeed(
  sample: FeedSample | null,
  t: FeedThresholds,
  history: FeedHistory,
  lookedAt: number,
  sourcePeriodMs: number | null = null,
): Classification {
  if (sample === null) return { health: 'unknown', reason: 'no sample yet', history };
  if (sample.unknown)
    return { health: 'unknown', reason: sample.reason ?? 'no reading', history: EMPTY_HISTORY };
  const now = Math.max(lookedAt, sample.at);
  const age = now - sample.at;
  // A dead publisher stops producing stats rather than reporting zero.
  if (age > staleAfterMs(t, sourcePeriodMs)) {
    return {
      health: 'offline',
      reason: `no data from ${sample.source} for ${(age / 1000).toFixed(1)} s`,
      history: EMPTY_HISTORY,
      since: sample.at,
    };
  }
  if (!sample.connected)
    return { health: 'offline', reason: sample.reason ?? 'not publishing', history: EMPTY_HISTORY };
  if (sample.unjudged) {
    const rate = sample.bitrate_kbps === null ? 'sending' : `${Math.round(sample.bitrate_kbps)} kb/s`;
    return {
      health: 'normal',
      reason: sample.reason ? `${rate}, ${sample.reason}` : rate,
      history: EMPTY_HISTORY,
    };
  }
  const b = sample.bitrate_kbps;
  const rtt = sample.rtt_ms;
  const zeroSince = b === 0 ? (history.zeroSince ?? sample.at) : null;
  const next: FeedHistory = { zeroSince };
  if (zeroSince !== null && now - zeroSince >= t.offline_after_ms) {
    return {
      health: 'offline',
      reason: `connected but 0 kb/s for ${now - zeroSince} ms`,
      history: next,
      since: zeroSince,
    };
  }
  if (b !== null && t.offline_bitrate_kbps > 0 && b <= t.offline_bitrate_kbps) {
    return {
      health: 'offline',
      reason: `bitrate ${Math.round(b)} kb/s ≤ ${t.offline_bitrate_kbps}`,
      history: next,
    };
  }
  if (rtt !== null && t.offline_rtt_ms > 0 && rtt >= t.offline_rtt_ms) {
    return { health: 'offline', reason: `RTT ${Math.round(rtt)} ms ≥ ${t.offline_rtt_ms}`, history: next };
  }
  if (b === 0) return { health: 'low', reason: 'connected but 0 kb/s', history: next };
  if (b !== null && t.low_bitrate_kbps > 0 && b <= t.low_bitrate_kbps) {
    return { health: 'low', reason: `bitrate ${Math.round(b)} kb/s ≤ ${t.low_bitrate_kbps}`, history: next };
  }
  if (rtt !== null && t.low_rtt_ms > 0 && rtt >= t.low_rtt_ms) {
    return { health: 'low', reason: `RTT ${Math.round(rtt)} ms ≥ ${t.low_rtt_ms}`, history: next };
  }
  const parts = [
    b !== null ? `${Math.round(b)} kb/s` : null,
    rtt !== null ? `RTT ${Math.round(rtt)} ms` : null,
  ];
  return { health: 'normal', reason: parts.filter(Boolean).join(', ') || 'publishing', history: next };
}

export interface RankedClassification {
  name: string;
  priority: number;
  classification: Classification;
  sample: FeedSample | null;
}

/** The feed the engine acts on, with the numbers the dock shows. */
export interface SelectedFeed extends FeedObservation {
  bitrate_kbps: number | null;
  rtt_ms: number | null;
  loss_pct: number | null;
}

/**
 * The priority list: sources sorted by `priority` (lower first, ties in list order); the first one
 * that is not offline wins. When all are offline, the highest-priority one's reason is reported.
 */
export function selectFeed(entries: RankedClassification[]): SelectedFeed {
  const sorted = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.priority - b.e.priority || a.i - b.i)
    .map((x) => x.e);
  const pick = sorted.find((e) => e.classification.health !== 'offline') ?? sorted[0];
  if (!pick)
    return {
      health: 'unknown',
      source: null,
      reason: 'no ingest source configured',
      bitrate_kbps: null,
      rtt_ms: null,
      loss_pct: null,
    };
  const live = pick.classification.health !== 'offline' && pick.sample !== null;
  return {
    health: pick.classification.health,
    source: pick.name,
    reason: pick.classification.reason,
    since: pick.classification.since ?? null,
    bitrate_kbps: live ? (pick.sample?.bitrate_kbps ?? null) : null,
    rtt_ms: live ? (pick.sample?.rtt_ms ?? null) : null,
    loss_pct: live ? (pick.sample?.loss_pct ?? null) : null,
  };
}
