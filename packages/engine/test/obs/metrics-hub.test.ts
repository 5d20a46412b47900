import { Writable } from 'node:stream';
import { createLogger } from '@telemy/protocol';
import type { RequestBatchRequest, ResponseMessage } from 'obs-websocket-js';
import { describe, expect, it } from 'vitest';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import { MetricsHub, type MetricsSnapshot } from '../../src/obs/metrics-hub.js';
import type { ObsLink } from '../../src/obs/obs-link.js';
import type { ObsOutputInfo } from '../../src/obs/obs-state.js';
import { outputSamplesFromHub, outputStatus } from '../../src/server/dock-state.js';

// The hub's own logic (batch shape, naming, deltas, absent values) against a scripted link;
// the real-OBS behaviour is covered by obs-link.int.test.ts.

interface OutputRow {
  active: boolean;
  bytes: number;
  frames: number;
  skipped: number;
  fails?: boolean;
  /** false: an audio-only output (`outputFlags.OBS_OUTPUT_VIDEO` false). */
  video?: boolean;
}

function scriptedLink() {
  const s = {
    connected: true,
    outputs: {
      simple_stream: { active: true, bytes: 0, frames: 0, skipped: 0 },
      simple_file_output: { active: false, bytes: 0, frames: 0, skipped: 0 },
      adv_ffmpeg_output: { active: true, bytes: 0, frames: 0, skipped: 0 },
    } as Record<string, OutputRow>,
    stats: {
      renderSkippedFrames: 3,
      renderTotalFrames: 100,
      outputSkippedFrames: 0,
      outputTotalFrames: 50,
      activeFps: 30,
    },
    batches: [] as RequestBatchRequest[][],
    updated: [] as ObsOutputInfo[][],
  };
  const ok = (requestType: string, responseData: unknown) =>
    ({
      requestType,
      requestId: '',
      requestStatus: { result: true, code: 100 },
      responseData,
    }) as ResponseMessage;
  const list = (): ObsOutputInfo[] =>
    Object.entries(s.outputs).map(([name, o]) => ({
      name,
      kind: 'k',
      active: o.active,
      width: null,
      height: null,
      video: o.video !== false,
    }));
  const status = (o: OutputRow) => ({
    outputActive: o.active,
    outputBytes: o.bytes,
    outputTotalFrames: o.frames,
    outputSkippedFrames: o.skipped,
    outputCongestion: 0.25,
    outputReconnecting: false,
    outputDuration: 1234,
  });
  const link = {
    get connected() {
      return s.connected;
    },
    state: () => ({ outputs: list() }),
    updateOutputs: (o: ObsOutputInfo[]) => s.updated.push(o),
    callBatch: async (requests: RequestBatchRequest[]) => {
      if (!s.connected) throw new Error('OBS is not connected');
      s.batches.push(requests);
      return requests.map((r): ResponseMessage => {
        switch (r.requestType) {
          case 'GetStats':
            return ok('GetStats', {
              ...s.stats,
              availableDiskSpace: 1024,
              averageFrameRenderTime: 2,
            });
          case 'GetStreamStatus':
            return ok('GetStreamStatus', status(s.outputs.simple_stream as OutputRow));
          case 'GetRecordStatus':
            return ok('GetRecordStatus', { outputActive: false, outputPaused: false, outputDuration: 0 });
          case 'GetOutputList':
            return ok('GetOutputList', {
              outputs: list().map((o) => ({
                outputName: o.name,
                outputKind: o.kind,
                outputActive: o.active,
                outputFlags: { OBS_OUTPUT_AUDIO: true, OBS_OUTPUT_VIDEO: o.video },
              })),
            });
          case 'GetOutputStatus': {
            const o = s.outputs[(r as { requestData: { outputName: string } }).requestData.outputName];
            if (!o || o.fails) {
              return {
                requestType: 'GetOutputStatus',
                requestId: '',
                requestStatus: { result: false, code: 600, comment: 'no such output' },
              } as unknown as ResponseMessage;
            }
            return ok('GetOutputStatus', status(o));
          }
          default:
            throw new Error(`unexpected ${r.requestType}`);
        }
      });
    },
  };
  return { s, link: link as unknown as ObsLink };
}

function setup() {
  const { s, link } = scriptedLink();
  let t = 1_000_000;
  const metrics = new EngineMetrics();
  const logger = createLogger('hub-test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const hub = new MetricsHub({
    link,
    metrics,
    logger,
    now: () => t,
    outputs: [
      { obs_id: 'simple_stream', display_name: 'Twitch', encoder_group: 'nvenc-1', hidden: false },
      { obs_id: 'simple_file_output', display_name: 'Recording', encoder_group: 'nvenc-1', hidden: true },
    ],
  });
  return {
    s,
    hub,
    metrics,
    advance: (ms: number) => {
      t += ms;
    },
    text: async (name: string) => metrics.registry.getSingleMetricAsString(name).catch(() => ''),
  };
}

describe('MetricsHub', () => {
  it('sends exactly one batch per tick, polling every non-hidden output', async () => {
    const { s, hub } = setup();
    await hub.tick();
    await hub.tick();
    expect(s.batches).toHaveLength(2);
    expect(s.batches[1]?.map((r) => r.requestType)).toEqual([
      'GetStats',
      'GetStreamStatus',
      'GetRecordStatus',
      'GetOutputList',
      'GetOutputStatus',
      'GetOutputStatus',
    ]);
    const polled = s.batches[1]
      ?.slice(4)
      .map((r) => (r as { requestData: { outputName: string } }).requestData.outputName);
    expect(polled).toEqual(['simple_stream', 'adv_ffmpeg_output']);
    expect(s.updated.at(-1)?.map((o) => o.name)).toContain('simple_file_output');
  });

  it('names outputs from [[outputs]], computes instantaneous rates from deltas, exports them by display name', async () => {
    const { s, hub, advance, text } = setup();
    const first = await hub.tick();
    expect(first.outputs.find((o) => o.id === 'simple_stream')?.bitrateKbps).toBeNull();
    expect(await text('telemy_output_bitrate_kbps')).not.toMatch(/output="Twitch"/);

    advance(500);
    Object.assign(s.outputs.simple_stream as OutputRow, { bytes: 375_000, frames: 15, skipped: 3 });
    Object.assign(s.outputs.adv_ffmpeg_output as OutputRow, { bytes: 62_500, frames: 15, skipped: 0 });
    const snap = await hub.tick();
    const twitch = snap.outputs.find((o) => o.id === 'simple_stream');
    expect(twitch).toMatchObject({ displayName: 'Twitch', group: 'nvenc-1', active: true, congestion: 0.25 });
    expect(twitch?.bitrateKbps).toBeCloseTo(6000, 6);
    expect(twitch?.fps).toBeCloseTo(30, 6);
    expect(twitch?.dropRatio).toBeCloseTo(0.2, 6);
    const other = snap.outputs.find((o) => o.id === 'adv_ffmpeg_output');
    expect(other).toMatchObject({ displayName: 'adv_ffmpeg_output', group: null });
    expect(other?.bitrateKbps).toBeCloseTo(1000, 6);
    expect(snap.outputs.some((o) => o.id === 'simple_file_output')).toBe(false);
    expect(snap.stream?.bitrateKbps).toBeCloseTo(6000, 6);
    expect(snap.obs?.diskFreeBytes).toBe(1024 * 1024 * 1024);

    const bitrate = await text('telemy_output_bitrate_kbps');
    expect(bitrate).toMatch(/telemy_output_bitrate_kbps\{output="Twitch"\} 6000/);
    expect(bitrate).toMatch(/telemy_output_bitrate_kbps\{output="adv_ffmpeg_output"\} 1000/);
    expect(bitrate).not.toMatch(/Recording/);

    (s.outputs.simple_stream as OutputRow).active = false;
    advance(500);
    const stopped = await hub.tick();
    expect(stopped.outputs.find((o) => o.id === 'simple_stream')?.bitrateKbps).toBe(0);
    expect(await text('telemy_output_bitrate_kbps')).toMatch(/output="Twitch"\} 0/);
  });

  it('an output whose status request fails is absent, not 0', async () => {
    const { s, hub, advance, text } = setup();
    await hub.tick();
    advance(500);
    (s.outputs.simple_stream as OutputRow).bytes = 10_000;
    await hub.tick();
    expect(await text('telemy_output_bitrate_kbps')).toMatch(/output="Twitch"/);
    (s.outputs.simple_stream as OutputRow).fails = true;
    advance(500);
    const snap = await hub.tick();
    expect(snap.outputs.some((o) => o.id === 'simple_stream')).toBe(false);
    expect(await text('telemy_output_bitrate_kbps')).not.toMatch(/output="Twitch"/);
  });

  it('mirrors OBS frame counters into Prometheus counters, surviving an OBS restart', async () => {
    const { s, hub, text } = setup();
    await hub.tick();
    expect(await text('telemy_obs_render_frames_total')).toMatch(/telemy_obs_render_frames_total 100$/m);
    s.stats.renderTotalFrames = 160;
    await hub.tick();
    expect(await text('telemy_obs_render_frames_total')).toMatch(/ 160$/m);
    // OBS restarted: its total starts again from 20; ours keeps counting up.
    s.stats.renderTotalFrames = 20;
    await hub.tick();
    expect(await text('telemy_obs_render_frames_total')).toMatch(/ 180$/m);
  });

  it('gives every active video output the video mix encoder lag: ms per second, gauge in seconds', async () => {
    const { s, hub, advance, text } = setup();
    s.outputs.audio_only = { active: true, bytes: 0, frames: 0, skipped: 0, video: false };
    const lag = (snap: MetricsSnapshot, id: string) => snap.outputs.find((o) => o.id === id)?.encodingLagMs;
    const gauge = () => text('telemy_output_encoding_lag_seconds');

    // A first reading has nothing to compare with: unknown, and no series.
    const first = await hub.tick();
    expect(first.obs?.encodingLagMs).toBeNull();
    expect(lag(first, 'simple_stream')).toBeNull();
    expect(await gauge()).not.toMatch(/output=/);

    advance(500);
    const clean = await hub.tick();
    expect(lag(clean, 'simple_stream')).toBe(0);
    expect(lag(clean, 'adv_ffmpeg_output')).toBe(0);
    expect(await gauge()).toMatch(/telemy_output_encoding_lag_seconds\{output="Twitch"\} 0$/m);

    // 3 frames skipped for encoding lag at 30 fps within 500 ms: 100 ms of video → 200 ms per second.
    advance(500);
    s.stats.outputSkippedFrames += 3;
    const burst = await hub.tick();
    expect(burst.obs?.encodingLagMs).toBeCloseTo(200, 9);
    expect(lag(burst, 'simple_stream')).toBeCloseTo(200, 9);
    expect(lag(burst, 'adv_ffmpeg_output')).toBeCloseTo(200, 9);
    expect(lag(burst, 'audio_only')).toBeNull();
    const exported = await gauge();
    expect(exported).toMatch(/telemy_output_encoding_lag_seconds\{output="Twitch"\} 0\.2$/m);
    expect(exported).toMatch(/telemy_output_encoding_lag_seconds\{output="adv_ffmpeg_output"\} 0\.2$/m);
    expect(exported).not.toMatch(/audio_only/);
    const twitch = outputSamplesFromHub(burst.outputs).find((o) => o.id === 'simple_stream');
    expect(twitch?.encoding_lag_ms).toBeCloseTo(200, 9);
    expect(outputStatus(twitch!)).toBe('critical');

    // OBS reset its video: the counter restarts below the last reading; its new count is this interval's.
    advance(500);
    s.stats.outputSkippedFrames = 1;
    const reset = await hub.tick();
    expect(lag(reset, 'simple_stream')).toBeCloseTo(1_000 / 30 / 0.5, 9);

    // A stopped output has no lag and loses its series; the others keep theirs.
    (s.outputs.simple_stream as OutputRow).active = false;
    advance(500);
    const stopped = await hub.tick();
    expect(lag(stopped, 'simple_stream')).toBeNull();
    expect(lag(stopped, 'adv_ffmpeg_output')).toBe(0);
    expect(await gauge()).not.toMatch(/output="Twitch"/);
    expect(await gauge()).toMatch(/output="adv_ffmpeg_output"\} 0$/m);
  });

  it('without OBS: no OBS data, no stale output series, no 0 for unknown gauges', async () => {
    const { s, hub, advance, text } = setup();
    await hub.tick();
    advance(500);
    (s.outputs.simple_stream as OutputRow).bytes = 10_000;
    await hub.tick();
    expect(await text('telemy_obs_active_fps')).toMatch(/telemy_obs_active_fps 30/);
    s.connected = false;
    advance(500);
    const snap = await hub.tick();
    expect(snap).toMatchObject({ obsConnected: false, outputs: [], stream: null, obs: null });
    expect(await text('telemy_output_bitrate_kbps')).not.toMatch(/output=/);
    expect(await text('telemy_output_encoding_lag_seconds')).not.toMatch(/output=/);
    expect(await text('telemy_obs_active_fps')).toBe('');
    expect(await text('telemy_obs_disk_free_bytes')).toBe('');
    expect(hub.snapshot().obsConnected).toBe(false);
    // Back again: the first sample after a reconnect has no rate yet (no delta across the gap).
    s.connected = true;
    advance(500);
    const again = await hub.tick();
    expect(again.outputs.find((o) => o.id === 'simple_stream')?.bitrateKbps).toBeNull();
    expect(again.outputs.find((o) => o.id === 'simple_stream')?.encodingLagMs).toBeNull();
  });

  it('emits every sample', async () => {
    const { hub } = setup();
    const seen: number[] = [];
    hub.on('sample', (snap) => seen.push(snap.seq));
    await hub.tick();
    await hub.tick();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBeGreaterThan(seen[0] as number);
  });
});
