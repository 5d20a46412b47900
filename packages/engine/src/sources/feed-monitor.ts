import type { Logger } from '@telemy/protocol';
import type { EngineMetrics } from '../metrics/metrics.js';
import {
  type Classification,
  classifyFeed,
  EMPTY_HISTORY,
  type FeedHistory,
  type FeedThresholds,
  type SelectedFeed,
  selectFeed,
  staleAfterMs,
} from './classify.js';
import type { FeedSample } from './feed-sample.js';

export interface MonitoredSource {
  name: string;
  priority: number;
}

interface Slot extends MonitoredSource {
  sample: FeedSample | null;
  /** The last time the engine looked at the source and got an answer (with or without a new sample). */
  lookedAt: number | null;
  history: FeedHistory;
  loggedMissing: Set<string>;
  periodMs: number | null;
  last: Classification | null;
}

/** One source as the monitor last classified it. */
export interface SourceState {
  name: string;
  priority: number;
  classification: Classification;
  sample: FeedSample | null;
}

/**
 * A source nobody looked at for this long reads unknown: its poll itself is stuck, which says
 * nothing about the feed (a timed-out stats request already reports itself).
 */
export const NOT_LOOKED_AT_MS = 5_000;

/**
 * Keeps the newest sample of every configured source and answers "what is the feed now" on demand.
 * Staleness is judged against when the engine last looked at each source (`looked()`), so a slow
 * answer or an engine that could not look for a while never turns a healthy feed offline.
 */
export class FeedMonitor {
  private readonly slots: Slot[];

  constructor(
    sources: MonitoredSource[],
    private thresholds: FeedThresholds,
    private readonly opts: { logger: Logger; metrics?: EngineMetrics },
  ) {
    this.slots = sources.map((s) => ({
      ...s,
      sample: null,
      lookedAt: null,
      history: EMPTY_HISTORY,
      loggedMissing: new Set(),
      periodMs: null,
      last: null,
    }));
  }

  setThresholds(t: FeedThresholds): void {
    this.thresholds = t;
  }

  /** Records a sample; samples of unknown sources are ignored with a warning. */
  ingest(sample: FeedSample): void {
    const slot = this.slots.find((s) => s.name === sample.source);
    if (!slot) {
      this.opts.logger.warn({ source: sample.source }, 'sample from an unconfigured source ignored');
      return;
    }
    for (const field of sample.missing ?? []) {
      if (slot.loggedMissing.has(field)) continue;
      slot.loggedMissing.add(field);
      this.opts.logger.warn(
        { source: slot.name, field },
        `stats payload of ${slot.name} lacks ${field}; treated as absent`,
      );
    }
    const gap = slot.sample ? sample.at - slot.sample.at : 0;
    // Smoothed, so one late read does not stretch (or one burst shrink) the stale deadline much.
    if (gap > 0) slot.periodMs = slot.periodMs === null ? gap : 0.7 * slot.periodMs + 0.3 * gap;
    slot.sample = sample;
    slot.lookedAt = Math.max(slot.lookedAt ?? sample.at, sample.at);
    const m = this.opts.metrics;
    if (m) {
      if (sample.bitrate_kbps !== null) m.feedBitrateKbps.set({ source: slot.name }, sample.bitrate_kbps);
      if (sample.rtt_ms !== null) m.feedRttSeconds.set({ source: slot.name }, sample.rtt_ms / 1000);
    }
  }

  /** The engine looked at `source` at `at` and found nothing new (a stats file that did not grow). */
  looked(source: string, at: number): void {
    const slot = this.slots.find((s) => s.name === source);
    if (slot) slot.lookedAt = Math.max(slot.lookedAt ?? at, at);
  }

  /** The source's observed time between samples, or null before it has sent two. */
  periodOf(source: string): number | null {
    return this.slots.find((s) => s.name === source)?.periodMs ?? null;
  }

  /** When `source`'s newest sample turns stale, measured from that sample. */
  staleAfterMs(source: string): number {
    return staleAfterMs(this.thresholds, this.periodOf(source));
  }

  observe(now: number): SelectedFeed {
    const ranked = this.slots.map((slot) => {
      const lookedAt = slot.lookedAt ?? now;
      const classification =
        slot.sample !== null && now - lookedAt > NOT_LOOKED_AT_MS
          ? {
              health: 'unknown' as const,
              reason: `${slot.name} has not answered for ${((now - lookedAt) / 1000).toFixed(1)} s`,
              history: EMPTY_HISTORY,
            }
          : classifyFeed(slot.sample, this.thresholds, slot.history, lookedAt, slot.periodMs);
      slot.history = classification.history;
      slot.last = classification;
      return { name: slot.name, priority: slot.priority, classification, sample: slot.sample };
    });
    return selectFeed(ranked);
  }

  /** Every source as the last `observe()` classified it (with its history), in configured order. */
  sources(): SourceState[] {
    return this.slots.map((slot) => ({
      name: slot.name,
      priority: slot.priority,
      classification: slot.last ?? { health: 'unknown', reason: 'no sample yet', history: EMPTY_HISTORY },
      sample: slot.sample,
    }));
  }
}
