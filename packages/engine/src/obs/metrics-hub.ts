import { EventEmitter } from 'node:events';
import { errorText, type Logger } from '@telemy/protocol';
import type { RequestBatchRequest, ResponseMessage } from 'obs-websocket-js';
import type { EngineMetrics } from '../metrics/metrics.js';
import { NonOverlappingInterval } from '../sources/non-overlapping-interval.js';
import { setOptionalGauge } from '../system/optional-gauge.js';
import type { SystemMetrics, SystemSample } from '../system/system-metrics.js';
import { type ObsLink, parseOutputs } from './obs-link.js';
import type { ObsOutputInfo } from './obs-state.js';
import {
  counterIncrement,
  type EncoderLagCounters,
  encodingLagMs,
  type OutputCounters,
  outputRates,
  windowedBitrateKbps,
} from './output-rates.js';

/** The window of `StreamSnapshot.windowBitrateKbps`, and the span it needs before it says anything. */
export const STREAM_RATE_WINDOW_MS = 2_000;
const STREAM_RATE_MIN_SPAN_MS = 900;

/** One `[[outputs]]` entry of the config: how an OBS output is shown. */
export interface OutputConfig {
  obs_id: string;
  display_name: string;
  encoder_group: string;
  hidden: boolean;
}

export interface OutputSnapshot {
  /** OBS output name (`obs_id`). */
  id: string;
  displayName: string;
  group: string | null;
  kind: string;
  active: boolean;
  /** Instantaneous: bytes sent between the last two samples over the real time between them. */
  bitrateKbps: number | null;
  fps: number | null;
  dropRatio: number | null;
  /** OBS's congestion estimate 0–1 (null when the output does not report one). */
  congestion: number | null;
  reconnecting: boolean;
  durationMs: number | null;
  /**
   * Encoder lag: ms of video per second of wall time the encoders failed to deliver over the last
   * sample (see `encodingLagMs`). OBS counts it for its whole video mix, so every active video
   * output shows the mix's figure; null while inactive, for audio-only outputs, or not yet known.
   */
  encodingLagMs: number | null;
  bytesTotal: number;
  framesTotal: number;
  skippedFramesTotal: number;
}

export interface ObsStatsSnapshot {
  activeFps: number | null;
  averageFrameRenderTimeMs: number | null;
  renderSkippedFrames: number | null;
  renderTotalFrames: number | null;
  outputSkippedFrames: number | null;
  outputTotalFrames: number | null;
  diskFreeBytes: number | null;
  obsCpuPercent: number | null;
  obsMemoryBytes: number | null;
  /** The video mix's encoder lag over the last sample (ms per s), null until two readings. */
  encodingLagMs: number | null;
}

export interface StreamSnapshot {
  active: boolean;
  reconnecting: boolean;
  congestion: number | null;
  durationMs: number | null;
  bitrateKbps: number | null;
  /** Upload rate over the last ~2 s (what the `obs_output` feed is judged on); null while too young. */
  windowBitrateKbps: number | null;
  fps: number | null;
  dropRatio: number | null;
}

export interface MetricsSnapshot {
  /** Epoch ms when the sample was asked for (counters describe OBS as of then). */
  at: number;
  seq: number;
  obsConnected: boolean;
  /** OBS is connected but did not answer this round's request (busy or slow): no data, no verdict. */
  statsError: string | null;
  stream: StreamSnapshot | null;
  recording: { active: boolean; paused: boolean; durationMs: number | null } | null;
  obs: ObsStatsSnapshot | null;
  outputs: OutputSnapshot[];
  system: SystemSample | null;
}

export interface MetricsHubOptions {
  link: ObsLink;
  metrics: EngineMetrics;
  logger: Logger;
  /** `[[outputs]]`: display names, groups and hidden outputs. Unlisted outputs show their OBS name. */
  outputs?: OutputConfig[];
  /** Host metrics; null disables them. Default: none. */
  system?: SystemMetrics | null;
  /** Default 500 ms. */
  intervalMs?: number;
  /** Monotonic epoch-ms clock (rates divide by real elapsed time between samples). */
  now?: () => number;
}

export interface MetricsHubEvents {
  sample: [MetricsSnapshot];
}

const MIB = 1024 * 1024;

/**
 * Polls OBS every `intervalMs` with ONE request batch (stats, stream and record status, output list
 * and each output's status), turns counter deltas into instantaneous rates, samples the host, and
 * mirrors everything into the engine's Prometheus instruments.
 */
export class MetricsHub extends EventEmitter<MetricsHubEvents> {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly config = new Map<string, OutputConfig>();
  private readonly loop: NonOverlappingInterval;
  private seq = 0;
  private knownOutputs: ObsOutputInfo[] = [];
  private prevOutput = new Map<string, OutputCounters>();
  private prevStream: OutputCounters | undefined;
  /** The stream's readings of the current run, covering a little more than the rate window. */
  private streamHistory: OutputCounters[] = [];
  private prevStats: Partial<Record<StatsCounter, number>> = {};
  private prevEncoderLag: EncoderLagCounters | undefined;
  private exportedOutputs = new Set<string>();
  private lastError: string | null = null;
  private last: MetricsSnapshot;

  constructor(private readonly options: MetricsHubOptions) {
    super();
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.intervalMs = options.intervalMs ?? 500;
    for (const o of options.outputs ?? []) this.config.set(o.obs_id, o);
    this.last = this.emptySnapshot(this.now(), false, null);
    this.exportObsStats(null);
    this.loop = new NonOverlappingInterval(() => this.sample(), this.intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** The latest sample (plain JSON-able data). */
  snapshot(): MetricsSnapshot {
    return structuredClone(this.last);
  }

  /**
   * One sampling round, for callers that drive sampling themselves; while a round is running it
   * starts none and gives the latest sample. Never throws.
   */
  async tick(): Promise<MetricsSnapshot> {
    await this.loop.runOnce();
    return this.snapshot();
  }

  private async sample(): Promise<void> {
    try {
      const asked = this.now();
      const [obs, system] = await Promise.all([this.sampleObs(asked), this.sampleSystem()]);
      const snap: MetricsSnapshot =
        'error' in obs
          ? { ...this.emptySnapshot(asked, this.options.link.connected, system), statsError: obs.error }
          : { ...obs, seq: ++this.seq, system };
      if ('error' in obs) this.forgetObs();
      this.last = snap;
      this.emit('sample', this.snapshot());
    } catch (err) {
      this.reportOnce(err);
    }
  }

  private emptySnapshot(at: number, obsConnected: boolean, system: SystemSample | null): MetricsSnapshot {
    return {
      at,
      seq: ++this.seq,
      obsConnected,
      statsError: null,
      stream: null,
      recording: null,
      obs: null,
      outputs: [],
      system,
    };
  }

  private async sampleSystem(): Promise<SystemSample | null> {
    const sys = this.options.system;
    if (!sys) return null;
    try {
      return await sys.sample();
    } catch (err) {
      this.reportOnce(err);
      return null;
    }
  }

  /** One batch; `at` is when it was asked for, so a slow answer does not distort the rates. */
  private async sampleObs(
    at: number,
  ): Promise<Omit<MetricsSnapshot, 'seq' | 'system'> | { error: string | null }> {
    const link = this.options.link;
    if (!link.connected) return { error: null };
    if (this.knownOutputs.length === 0) this.knownOutputs = link.state().outputs;
    const polled = this.knownOutputs.filter((o) => !this.config.get(o.name)?.hidden);
    const requests: RequestBatchRequest[] = [
      { requestType: 'GetStats' },
      { requestType: 'GetStreamStatus' },
      { requestType: 'GetRecordStatus' },
      { requestType: 'GetOutputList' },
      ...polled.map(
        (o): RequestBatchRequest => ({ requestType: 'GetOutputStatus', requestData: { outputName: o.name } }),
      ),
    ];
    let res: ResponseMessage[];
    try {
      res = await link.callBatch(requests);
    } catch (err) {
      // Connection trouble is the link's to report; the hub just has no OBS data this tick.
      this.options.logger.debug({ err }, 'metrics batch failed');
      return { error: errorText(err) };
    }
    this.lastError = null;
    const ok = (i: number): Record<string, unknown> | null => {
      const r = res[i];
      return r?.requestStatus.result ? (r.responseData as unknown as Record<string, unknown>) : null;
    };

    const list = ok(3);
    if (list) {
      this.knownOutputs = parseOutputs(list.outputs);
      link.updateOutputs(this.knownOutputs);
    }

    const obs = this.readStats(at, ok(0));
    const outputs: OutputSnapshot[] = [];
    polled.forEach((info, idx) => {
      const status = ok(4 + idx);
      if (!status) return;
      const counters = countersOf(at, status);
      const rates = outputRates(this.prevOutput.get(info.name), counters);
      this.prevOutput.set(info.name, counters);
      const cfg = this.config.get(info.name);
      outputs.push({
        id: info.name,
        displayName: cfg?.display_name || info.name,
        group: cfg?.encoder_group || null,
        kind: info.kind,
        active: counters.active,
        ...rates,
        congestion: counters.active ? num(status.outputCongestion) : null,
        reconnecting: status.outputReconnecting === true,
        durationMs: counters.active ? num(status.outputDuration) : null,
        encodingLagMs: counters.active && info.video ? (obs?.encodingLagMs ?? null) : null,
        bytesTotal: counters.bytes,
        framesTotal: counters.totalFrames,
        skippedFramesTotal: counters.skippedFrames,
      });
    });
    for (const name of [...this.prevOutput.keys()]) {
      if (!polled.some((o) => o.name === name)) this.prevOutput.delete(name);
    }

    const streamRaw = ok(1);
    let stream: StreamSnapshot | null = null;
    if (streamRaw) {
      const counters = countersOf(at, streamRaw);
      const rates = outputRates(this.prevStream, counters);
      this.prevStream = counters;
      this.recordStream(counters);
      stream = {
        active: counters.active,
        reconnecting: streamRaw.outputReconnecting === true,
        congestion: counters.active ? num(streamRaw.outputCongestion) : null,
        durationMs: counters.active ? num(streamRaw.outputDuration) : null,
        ...rates,
        windowBitrateKbps: windowedBitrateKbps(
          this.streamHistory,
          STREAM_RATE_WINDOW_MS,
          STREAM_RATE_MIN_SPAN_MS,
        ),
      };
    }

    const recordRaw = ok(2);
    const recording = recordRaw
      ? {
          active: recordRaw.outputActive === true,
          paused: recordRaw.outputPaused === true,
          durationMs: recordRaw.outputActive === true ? num(recordRaw.outputDuration) : null,
        }
      : null;

    this.exportObsStats(obs);
    this.exportOutputs(outputs);
    return { at, obsConnected: true, statsError: null, stream, recording, obs, outputs };
  }

  /** Keeps the readings of the current run that the rate window can still need. */
  private recordStream(c: OutputCounters): void {
    const last = this.streamHistory.at(-1);
    // A new run (stopped, restarted, counters reset by OBS) starts a new history.
    if (!c.active || (last && (c.bytes < last.bytes || !last.active))) this.streamHistory = [];
    this.streamHistory.push(c);
    const keepFrom = c.at - 2 * STREAM_RATE_WINDOW_MS;
    while ((this.streamHistory[1]?.at ?? Number.POSITIVE_INFINITY) <= keepFrom) this.streamHistory.shift();
  }

  private readStats(at: number, raw: Record<string, unknown> | null): ObsStatsSnapshot | null {
    if (!raw) return null;
    const disk = num(raw.availableDiskSpace);
    const mem = num(raw.memoryUsage);
    const activeFps = num(raw.activeFps);
    const skipped = num(raw.outputSkippedFrames);
    let lag: number | null = null;
    // A missing reading keeps the previous one: the next delta then spans both intervals.
    if (skipped !== null) {
      const cur = { at, skippedFrames: skipped };
      lag = encodingLagMs(this.prevEncoderLag, cur, activeFps);
      this.prevEncoderLag = cur;
    }
    return {
      activeFps,
      averageFrameRenderTimeMs: num(raw.averageFrameRenderTime),
      renderSkippedFrames: num(raw.renderSkippedFrames),
      renderTotalFrames: num(raw.renderTotalFrames),
      outputSkippedFrames: num(raw.outputSkippedFrames),
      outputTotalFrames: num(raw.outputTotalFrames),
      // obs-websocket reports disk space and memory in MiB.
      diskFreeBytes: disk === null ? null : Math.round(disk * MIB),
      obsCpuPercent: num(raw.cpuUsage),
      obsMemoryBytes: mem === null ? null : Math.round(mem * MIB),
      encodingLagMs: lag,
    };
  }

  private exportObsStats(s: ObsStatsSnapshot | null): void {
    const m = this.options.metrics;
    setOptionalGauge(m.registry, 'telemy_obs_active_fps', m.obsActiveFps, s?.activeFps ?? null);
    setOptionalGauge(m.registry, 'telemy_obs_disk_free_bytes', m.obsDiskFreeBytes, s?.diskFreeBytes ?? null);
    if (!s) return;
    const counters: Array<[StatsCounter, number | null, { inc(v: number): void }]> = [
      ['renderSkippedFrames', s.renderSkippedFrames, m.renderSkippedFramesTotal],
      ['renderTotalFrames', s.renderTotalFrames, m.renderFramesTotal],
      ['outputSkippedFrames', s.outputSkippedFrames, m.outputSkippedFramesTotal],
      ['outputTotalFrames', s.outputTotalFrames, m.outputFramesTotal],
    ];
    for (const [key, value, counter] of counters) {
      if (value === null) continue;
      const inc = counterIncrement(this.prevStats[key], value);
      if (inc > 0) counter.inc(inc);
      this.prevStats[key] = value;
    }
  }

  private exportOutputs(outputs: OutputSnapshot[]): void {
    const m = this.options.metrics;
    const seen = new Set<string>();
    for (const o of outputs) {
      const labels = { output: o.displayName };
      seen.add(o.displayName);
      setOrRemove(m.outputBitrateKbps, labels, o.bitrateKbps);
      setOrRemove(m.outputFps, labels, o.fps);
      setOrRemove(m.outputDropRatio, labels, o.dropRatio);
      setOrRemove(
        m.outputEncodingLagSeconds,
        labels,
        o.encodingLagMs === null ? null : o.encodingLagMs / 1000,
      );
    }
    for (const name of this.exportedOutputs) {
      if (seen.has(name)) continue;
      for (const g of [m.outputBitrateKbps, m.outputFps, m.outputDropRatio, m.outputEncodingLagSeconds]) {
        g.remove({ output: name });
      }
    }
    this.exportedOutputs = seen;
  }

  /** OBS gone: no rates carry over a disconnect, and no stale per-output series stay exported. */
  private forgetObs(): void {
    this.prevOutput.clear();
    this.prevStream = undefined;
    this.streamHistory = [];
    this.prevEncoderLag = undefined;
    this.knownOutputs = [];
    this.exportObsStats(null);
    this.exportOutputs([]);
  }

  private reportOnce(err: unknown): void {
    const msg = errorText(err);
    if (msg !== this.lastError) this.options.logger.warn({ err: msg }, 'metrics sampling failed');
    this.lastError = msg;
  }
}

type StatsCounter = 'renderSkippedFrames' | 'renderTotalFrames' | 'outputSkippedFrames' | 'outputTotalFrames';

function countersOf(at: number, raw: Record<string, unknown>): OutputCounters {
  return {
    at,
    active: raw.outputActive === true,
    bytes: num(raw.outputBytes) ?? 0,
    totalFrames: num(raw.outputTotalFrames) ?? 0,
    skippedFrames: num(raw.outputSkippedFrames) ?? 0,
  };
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function setOrRemove(
  gauge: { set(labels: { output: string }, v: number): void; remove(labels: { output: string }): void },
  labels: { output: string },
  value: number | null,
): void {
  if (value === null) gauge.remove(labels);
  else gauge.set(labels, value);
}
