import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every engine metric (docs/observability.md), on one registry per engine instance (tests run
 * several engines in one process). Subsystems receive this object and update their own instruments;
 * nothing else creates engine metrics, so names stay in one place for dashboards and alert rules.
 */
export class EngineMetrics {
  readonly registry = new Registry();

  readonly obsConnected = this.gauge('telemy_obs_connected', 'OBS websocket identified (1) or not (0)');
  readonly outputBitrateKbps = this.gauge('telemy_output_bitrate_kbps', 'Instantaneous output bitrate', [
    'output',
  ]);
  readonly outputFps = this.gauge('telemy_output_fps', 'Output frames per second', ['output']);
  readonly outputDropRatio = this.gauge(
    'telemy_output_drop_ratio',
    'Skipped/total frames over the last sample',
    ['output'],
  );
  readonly outputEncodingLagSeconds = this.gauge(
    'telemy_output_encoding_lag_seconds',
    'Seconds of video per second the encoders skipped for encoding lag over the last sample (OBS video mix)',
    ['output'],
  );
  readonly renderSkippedFramesTotal = this.counter(
    'telemy_obs_render_skipped_frames_total',
    'Frames skipped by the renderer',
  );
  readonly renderFramesTotal = this.counter('telemy_obs_render_frames_total', 'Frames rendered');
  readonly outputSkippedFramesTotal = this.counter(
    'telemy_obs_output_skipped_frames_total',
    'Frames skipped by outputs',
  );
  readonly outputFramesTotal = this.counter('telemy_obs_output_frames_total', 'Frames output');
  readonly obsActiveFps = this.gauge('telemy_obs_active_fps', 'OBS active render fps');
  readonly obsDiskFreeBytes = this.gauge('telemy_obs_disk_free_bytes', 'Free disk space where OBS records');
  readonly feedBitrateKbps = this.gauge('telemy_feed_bitrate_kbps', 'Ingest feed bitrate', ['source']);
  readonly feedRttSeconds = this.gauge('telemy_feed_rtt_seconds', 'Ingest feed round-trip time', ['source']);
  readonly feedState = this.gauge('telemy_feed_state', '1 for the current feed classification', ['state']);
  readonly systemCpuRatio = this.gauge('telemy_system_cpu_ratio', 'Host CPU load 0-1');
  readonly systemMemoryRatio = this.gauge('telemy_system_memory_ratio', 'Host memory in use 0-1');
  readonly systemGpuRatio = this.gauge('telemy_system_gpu_ratio', 'GPU utilisation 0-1 when available');
  readonly systemNetworkBytesTotal = this.counter('telemy_system_network_bytes_total', 'Host network bytes', [
    'direction',
  ]);
  readonly stateTransitionTotal = this.counter('telemy_state_transition_total', 'Engine mode transitions', [
    'from',
    'to',
  ]);
  readonly sceneIntentTotal = this.counter('telemy_scene_intent_total', 'Scene intents decided', [
    'intent',
    'rule',
  ]);
  readonly sceneSwitchTotal = this.counter('telemy_scene_switch_total', 'Scene switches attempted', [
    'reason',
    'result',
  ]);
  readonly failoverDetectionToSwitchSeconds = new Histogram({
    name: 'telemy_failover_detection_to_switch_seconds',
    help: 'From detecting a feed change to OBS confirming the scene',
    labelNames: ['reason'],
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    registers: [this.registry],
  });
  readonly graceEntriesTotal = this.counter('telemy_grace_entries_total', 'IRL grace periods entered');
  readonly graceRecoveriesTotal = this.counter(
    'telemy_grace_recoveries_total',
    'IRL grace periods recovered',
  );
  readonly degradedSecondsTotal = this.counter('telemy_degraded_seconds_total', 'Seconds spent DEGRADED');
  readonly ipcRoundtripSeconds = new Histogram({
    name: 'telemy_ipc_roundtrip_seconds',
    help: 'IPC request/reply round trip',
    labelNames: ['lane'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly ipcTimeoutsTotal = this.counter('telemy_ipc_timeouts_total', 'IPC reads/writes that timed out', [
    'lane',
  ]);
  readonly ipcReconnectsTotal = this.counter('telemy_ipc_reconnects_total', 'IPC sessions re-established');
  readonly ipcQueueDroppedTotal = this.counter(
    'telemy_ipc_queue_dropped_total',
    'IPC messages dropped by lane',
    ['lane'],
  );
  readonly sceneSwitchIpcPathSeconds = new Histogram({
    name: 'telemy_scene_switch_ipc_path_seconds',
    help: 'From the engine sending switch_scene over IPC to the shim reporting the result',
    labelNames: ['result'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1],
    registers: [this.registry],
  });
  readonly chatCommandsTotal = this.counter('telemy_chat_commands_total', 'Chat command attempts', [
    'platform',
    'command',
    'outcome',
  ]);
  readonly chatConnected = this.gauge('telemy_chat_connected', 'Chat platform connected', ['platform']);
  readonly otlpExportFailuresTotal = this.counter(
    'telemy_otlp_export_failures_total',
    'OTLP metric pushes that failed',
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names three default gauges `*_total`, a suffix `promtool check metrics` reserves
    // for counters; the per-type gauges next to them carry the same information.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
