import type { Logger } from '@telemy/protocol';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import type { SourceConfig } from '../config/index.js';
import type { EngineMetrics } from '../export/metrics.js';
import type { MetricsHub } from '../obs/metrics-hub.js';
import type { ObsLink } from '../obs/obs-link.js';
import { classifyFeed, EMPTY_HISTORY, type FeedThresholds, type SelectedFeed } from '../sources/classify.js';
import { FeedMonitor } from '../sources/feed-monitor.js';
import { type FeedSample, type ParseOutcome, toSample } from '../sources/feed-sample.js';
import { HttpStatsPoller } from '../sources/http-poller.js';
import { NonOverlappingInterval } from '../sources/non-overlapping-interval.js';
import {
  parseBelaboxStats,
  parseMediamtxPaths,
  parseNginxRtmpStat,
  parseObsMediaStatus,
  parseObsOutput,
  parseSlsStats,
} from '../sources/parsers.js';
import { RelayFeedReader } from '../sources/relay-feed.js';
import { SrtStatsFileTail } from '../sources/srt-stats-tail.js';
import type { FeedView } from './engine-views.js';
import type { SourceReading } from './status-summary.js';

/** Without `[[sources]]` the feed is OBS's own stream output. */
const DEFAULT_SOURCES: SourceConfig[] = [{ name: 'obs', type: 'obs_output', priority: 100, enabled: true }];

interface Runner {
  start(): void;
  stop(): void;
}

export interface FeedSourcesOptions {
  sources: SourceConfig[];
  thresholds: FeedThresholds;
  hub: MetricsHub;
  obs: ObsLink;
  cloud: () => CloudLink | null;
  metrics: EngineMetrics;
  logger: Logger;
  now: () => number;
  /** Called after every sample, so the controller evaluates it when it arrives (10- §5). */
  onSample?: () => void;
}

/** The stats file is local: reading it every 100 ms costs a stat() and lets a sample count from its line. */
const STATS_FILE_POLL_MS = 100;

/**
 * Turns `[[sources]]` into running pollers that feed one FeedMonitor, and serves the controller's
 * `observe()` (once per tick) plus the dock's and chat's view of every source.
 */
export class FeedSources {
  readonly monitor: FeedMonitor;
  private readonly runners: Runner[] = [];
  private readonly latest = new Map<string, FeedSample>();
  private readonly staleTimers = new Map<string, NodeJS.Timeout>();
  private readonly configured: SourceConfig[];
  private thresholds: FeedThresholds;
  private last: SelectedFeed = {
    health: 'unknown',
    source: null,
    reason: 'no sample yet',
    bitrate_kbps: null,
    rtt_ms: null,
    loss_pct: null,
  };

  constructor(private readonly o: FeedSourcesOptions) {
    const enabled = o.sources.filter((s) => s.enabled);
    this.configured = enabled.length > 0 ? enabled : DEFAULT_SOURCES;
    this.thresholds = o.thresholds;
    this.monitor = new FeedMonitor(this.configured, o.thresholds, { logger: o.logger, metrics: o.metrics });
    for (const s of this.configured) this.runners.push(this.runnerFor(s));
  }

  start(): void {
    for (const r of this.runners) r.start();
  }

  stop(): void {
    for (const r of this.runners) r.stop();
    for (const t of this.staleTimers.values()) clearTimeout(t);
    this.staleTimers.clear();
  }

  setThresholds(t: FeedThresholds): void {
    this.thresholds = t;
    this.monitor.setThresholds(t);
  }

  /** The controller's per-tick question (staleness is judged here even without a new sample). */
  observe(now: number): SelectedFeed {
    this.last = this.monitor.observe(now);
    for (const c of ['normal', 'low', 'offline', 'unknown'] as const)
      this.o.metrics.feedState.set({ state: c }, this.last.health === c ? 1 : 0);
    return this.last;
  }

  view(): FeedView {
    const now = this.o.now();
    const sources: SourceReading[] = this.configured.map((s) => {
      const sample = this.latest.get(s.name) ?? null;
      const c = classifyFeed(sample, this.thresholds, EMPTY_HISTORY, now, this.monitor.periodOf(s.name));
      const live = c.health !== 'offline' && sample !== null;
      return {
        name: s.name,
        classification: c.health,
        bitrate_kbps: live ? sample.bitrate_kbps : null,
        rtt_ms: live ? sample.rtt_ms : null,
        loss_pct: live ? sample.loss_pct : null,
        reason: c.reason,
      };
    });
    return { ...this.last, classification: this.last.health, name: this.last.source ?? '', sources };
  }

  private ingest = (sample: FeedSample): void => {
    this.latest.set(sample.source, sample);
    this.monitor.ingest(sample);
    const onSample = this.o.onSample;
    if (!onSample) return;
    onSample();
    // A dead publisher sends nothing more: evaluate the moment its last sample turns stale instead
    // of at the next tick, which would add up to one sample interval to the BRB latency.
    clearTimeout(this.staleTimers.get(sample.source));
    this.staleTimers.set(sample.source, setTimeout(onSample, this.monitor.staleAfterMs(sample.source) + 1));
  };

  private runnerFor(s: SourceConfig): Runner {
    const intervalMs = this.thresholds.sample_interval_ms;
    const http = (parse: (body: string) => ParseOutcome) =>
      new HttpStatsPoller({
        source: s.name,
        url: s.url ?? '',
        intervalMs,
        parse,
        onSample: this.ingest,
        now: this.o.now,
      });
    switch (s.type) {
      case 'srt_live_transmit':
        return new SrtStatsFileTail({
          source: s.name,
          file: s.stats_file ?? '',
          intervalMs: Math.min(intervalMs, STATS_FILE_POLL_MS),
          onSample: this.ingest,
          now: this.o.now,
        });
      case 'sls':
        return http((b) => parseSlsStats(b, s.publisher));
      case 'belabox':
        return http((b) => parseBelaboxStats(b, s.publisher));
      case 'mediamtx':
        return http((b) => parseMediamtxPaths(b, s.stream));
      case 'nginx_rtmp':
        return http((b) => parseNginxRtmpStat(b, s.publisher, s.stream));
      case 'obs_output':
        return this.obsOutputRunner(s.name);
      case 'obs_media_source':
        return this.timerRunner(intervalMs, async () => {
          const status = await this.o.obs
            .call('GetMediaInputStatus', { inputName: s.input ?? '' })
            .catch((err: unknown) => ({ error: err }));
          this.ingest(
            toSample(
              'error' in (status as object)
                ? {
                    kind: 'offline',
                    reason: `OBS media input ${s.input}: ${String((status as { error: unknown }).error)}`,
                  }
                : parseObsMediaStatus(status),
              s.name,
              this.o.now(),
            ),
          );
        });
      case 'relay': {
        const reader = new RelayFeedReader();
        return this.timerRunner(intervalMs, async () => {
          const now = this.o.now();
          const outcome = reader.read(this.o.cloud()?.snapshot(), now);
          if (outcome) this.ingest(toSample(outcome, s.name, now));
        });
      }
    }
  }

  /** The OBS stream output, from every metrics-hub sample (instantaneous bitrate). */
  private obsOutputRunner(name: string): Runner {
    const onSample = () => {
      const snap = this.o.hub.snapshot();
      const st = snap.stream;
      const outcome: ParseOutcome = !snap.obsConnected
        ? { kind: 'offline', reason: 'OBS not connected' }
        : parseObsOutput({
            active: st?.active ?? false,
            bitrate_kbps: st?.bitrateKbps ?? null,
            reconnecting: st?.reconnecting ?? false,
            congestion: st?.congestion ?? null,
          });
      this.ingest(toSample(outcome, name, this.o.now()));
    };
    return {
      start: () => this.o.hub.on('sample', onSample),
      stop: () => this.o.hub.off('sample', onSample),
    };
  }

  private timerRunner(intervalMs: number, poll: () => Promise<void>): Runner {
    return new NonOverlappingInterval(
      () => poll().catch((err: unknown) => this.o.logger.warn({ err }, 'source poll failed')),
      intervalMs,
    );
  }
}
