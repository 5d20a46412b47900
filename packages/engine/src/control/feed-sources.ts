import type { Logger } from '@telemy/protocol';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import type { SourceConfig } from '../config/index.js';
import type { EngineMetrics } from '../metrics/metrics.js';
import type { MetricsHub } from '../obs/metrics-hub.js';
import type { ObsLink } from '../obs/obs-link.js';
import type { FeedThresholds, SelectedFeed } from '../sources/classify.js';
import { FeedMonitor } from '../sources/feed-monitor.js';
import type { FeedSample } from '../sources/feed-sample.js';
import { NonOverlappingInterval } from '../sources/non-overlapping-interval.js';
import { PICTURE_LOOK_MS, PictureProbe } from '../sources/picture-probe.js';
import { SOURCE_MODULES } from '../sources/registry.js';
import type { SourceRunner } from '../sources/source-module.js';
import type { FeedView } from './engine-views.js';
import type { SourceReading } from './status-summary.js';

/** Without `[[sources]]` the feed is OBS's own stream output. */
const DEFAULT_SOURCES: SourceConfig[] = [{ name: 'obs', type: 'obs_output', priority: 100, enabled: true }];

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
  /** A vault entry, for a source that signs in (`password_key`). */
  secret?: (key: string) => string | null;
}

/**
 * Turns `[[sources]]` into running pollers that feed one FeedMonitor, and serves the controller's
 * `observe()` (once per tick) plus the dock's and chat's view of every source.
 */
export class FeedSources {
  readonly monitor: FeedMonitor;
  private readonly runners: SourceRunner[] = [];
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
   * The OBS media source to restart when the picture is stuck (`!refresh`): the one showing the
   * feed, or, while no source carries it, the first source by priority that names one.
   */
  feedInput(): string | null {
    const input = this.pictureInput(this.last.source);
    if (input !== null) return input;
    const named = [...this.configured].sort((a, b) => a.priority - b.priority).find((s) => s.input);
    return named?.input ?? null;
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

  /** The entry's runner, from its type's module. */
  private runnerFor(config: SourceConfig): SourceRunner {
    return SOURCE_MODULES[config.type].runner({
      config,
      intervalMs: this.thresholds.sample_interval_ms,
      now: this.o.now,
      ingest: this.ingest,
      looked: (at) => this.looked(config.name, at),
      every: (intervalMs, poll) => this.timerRunner(intervalMs, poll),
      obs: this.o.obs,
      hub: this.o.hub,
      cloud: this.o.cloud,
      cloudStarting: () => this.o.cloudStarting?.() ?? false,
      secret: (key) => this.o.secret?.(key) ?? null,
    });
  }

  private timerRunner(intervalMs: number, poll: () => Promise<void>): SourceRunner {
    return new NonOverlappingInterval(
      () => poll().catch((err: unknown) => this.o.logger.warn({ err }, 'source poll failed')),
      intervalMs,
    );
  }
}
