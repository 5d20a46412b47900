import type { Logger } from '@telemy/protocol';
import type { EngineMetrics } from '../export/metrics.js';
import {
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
  history: FeedHistory;
  loggedMissing: Set<string>;
  periodMs: number | null;
}

/**
 * Keeps the newest sample of every configured source and answers "what is the feed now" on demand,
 * so staleness is noticed on every tick even when no new sample arrives.
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
      history: EMPTY_HISTORY,
      loggedMissing: new Set(),
      periodMs: null,
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
    const m = this.opts.metrics;
    if (m) {
      if (sample.bitrate_kbps !== null) m.feedBitrateKbps.set({ source: slot.name }, sample.bitrate_kbps);
      if (sample.rtt_ms !== null) m.feedRttSeconds.set({ source: slot.name }, sample.rtt_ms / 1000);
    }
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
      const classification = classifyFeed(slot.sample, this.thresholds, slot.history, now, slot.periodMs);
      slot.history = classification.history;
      return { name: slot.name, priority: slot.priority, classification, sample: slot.sample };
    });
    return selectFeed(ranked);
  }
}
