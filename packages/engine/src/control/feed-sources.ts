import type { Logger } from '@telemy/protocol';
import { errorText } from '@telemy/protocol';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import type { SourceConfig } from '../config/index.js';
import type { EngineMetrics } from '../export/metrics.js';
import type { MetricsHub } from '../obs/metrics-hub.js';
import { type ObsLink, ObsRequestError } from '../obs/obs-link.js';
import type { FeedThresholds, SelectedFeed } from '../sources/classify.js';
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
import { PICTURE_LOOK_MS, PictureProbe } from '../sources/picture-probe.js';
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
  /** The control plane is still coming up to say whether a relay session runs (a `relay` source waits). */
  cloudStarting?: () => boolean;
  metrics: EngineMetrics;
  logger: Logger;
  now: () => number;
  /** Called after every sample, so the controller evaluates it when it arrives. */
  onSample?: () => void;
  /**
   * The OBS media source that plays the relay's feed while an IRL session runs (it then gates LIVE
   * for every source), or null.
   */
  relayInput?: () => string | null;
  /** LIVE is on air: the picture needs no watching (and is judged afresh once LIVE is left). */
  liveOnAir?: () => boolean;
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
  private readonly picture: PictureProbe;
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
    this.picture = new PictureProbe(o.obs, o.now);
    this.runners.push(
      this.timerRunner(PICTURE_LOOK_MS, async () => {
        if (o.liveOnAir?.()) {
          this.picture.reset();
          return;
        }
        await this.picture.look();
        if (this.picture.current()?.playing) this.o.onSample?.();
      }),
    );
  }

  start(): void {
    for (const r of this.runners) r.start();
  }

  stop(): void {
    for (const r of this.runners) r.stop();
  }

  setThresholds(t: FeedThresholds): void {
    this.thresholds = t;
    this.monitor.setThresholds(t);
  }

  /** The controller's per-tick question (staleness is judged here even without a new sample). */
  observe(now: number): SelectedFeed {
    const selected = this.monitor.observe(now);
    this.picture.watch(this.pictureInput(selected.source));
    this.last = { ...selected, picture: this.picture.current() };
    for (const c of ['normal', 'low', 'offline', 'unknown'] as const)
      this.o.metrics.feedState.set({ state: c }, this.last.health === c ? 1 : 0);
    return this.last;
  }

  /** Every source as the controller's last observation classified it: the same verdicts it acted on. */
  view(): FeedView {
    const sources: SourceReading[] = this.monitor.sources().map((src) => {
      const c = src.classification;
      const sample = c.health === 'normal' || c.health === 'low' ? src.sample : null;
      return {
        name: src.name,
        classification: c.health,
        bitrate_kbps: sample?.bitrate_kbps ?? null,
        rtt_ms: sample?.rtt_ms ?? null,
        loss_pct: sample?.loss_pct ?? null,
        reason: c.reason,
      };
    });
    return { ...this.last, classification: this.last.health, name: this.last.source ?? '', sources };
  }

  /**
   * The OBS media source that shows the feed, when Telemy knows one: the relay's source during an
   * IRL session, otherwise the `input` of the source the feed comes from.
   */
  private pictureInput(source: string | null): string | null {
    const relay = this.o.relayInput?.() ?? null;
    if (relay !== null) return relay;
    return this.configured.find((s) => s.name === source)?.input || null;
  }

  /** A new sample is evaluated when it arrives (a relay push or a stats line), not at the next tick. */
  private ingest = (sample: FeedSample): void => {
    this.monitor.ingest(sample);
    this.o.onSample?.();
  };

  /**
   * A look that found nothing new is evaluated too: that is when a dead publisher's last line turns
   * stale, within one read of the stale deadline.
   */
  private looked(source: string, at: number): void {
    this.monitor.looked(source, at);
    this.o.onSample?.();
  }

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
          onLooked: (at) => this.looked(s.name, at),
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
          const at = this.o.now();
          const outcome: ParseOutcome = await this.o.obs
            .call('GetMediaInputStatus', { inputName: s.input ?? '' })
            .then(parseObsMediaStatus, (err: unknown) => mediaInputFailure(s.input ?? '', err));
          this.ingest(toSample(outcome, s.name, at));
        });
      case 'relay': {
        const reader = new RelayFeedReader();
        return this.timerRunner(intervalMs, async () => {
          const now = this.o.now();
          const snap = this.o.cloud()?.snapshot();
          this.ingest(toSample(reader.read(snap, now, this.o.cloudStarting?.() ?? false), s.name, now));
        });
      }
    }
  }

  /** The OBS stream output, from every metrics-hub sample (instantaneous bitrate). */
  private obsOutputRunner(name: string): Runner {
    const onSample = () => {
      const snap = this.o.hub.snapshot();
      const st = snap.stream;
      // OBS gone or not answering says nothing about the stream it sends: unknown, never offline.
      const outcome: ParseOutcome = !snap.obsConnected
        ? { kind: 'unknown', reason: 'OBS not connected' }
        : snap.statsError !== null
          ? { kind: 'unknown', reason: `OBS did not answer the stats request (${snap.statsError})` }
          : parseObsOutput({
              active: st?.active ?? false,
              bitrate_kbps: st?.windowBitrateKbps ?? null,
              reconnecting: st?.reconnecting ?? false,
              congestion: st?.congestion ?? null,
            });
      this.ingest(toSample(outcome, name, snap.at));
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

/**
 * A failed `GetMediaInputStatus`: OBS answering that the input is missing is a broken source
 * (offline, with the reason); OBS not answering in time or not connected says nothing (unknown).
 */
function mediaInputFailure(input: string, err: unknown): ParseOutcome {
  const message = errorText(err);
  if (err instanceof ObsRequestError)
    return { kind: 'offline', reason: `OBS media input ${input}: ${message}` };
  return { kind: 'unknown', reason: `OBS media input ${input}: ${message}` };
}
