import type { DockInputs } from '../../src/server/dock-state.js';

/** A streamer mid-session: OBS connected and streaming, no relay, chat or system producers. */
export function baseInputs(): DockInputs {
  return {
    version: '0.1.0',
    status: { level: 'ok', text: 'LIVE — feed healthy (6000 kb/s) for 65 s', since_ms: 1_000 },
    obs: {
      connection: 'connected',
      lastError: null,
      scenes: ['LIVE', 'BRB', 'OFFLINE', 'Intermission'],
      currentScene: 'LIVE',
      streaming: true,
      recording: false,
      streamDurationMs: 65_432,
      recordDurationMs: null,
    },
    outputs: [
      { id: 'simple_stream', active: true, bitrate_kbps: 6000, fps: 60, drop_pct: 0, encoding_lag_ms: 5 },
      { id: 'vertical', active: true, bitrate_kbps: 3000, fps: 30, drop_pct: 2, encoding_lag_ms: 10 },
      { id: 'backup', active: false, bitrate_kbps: 0, fps: 0, drop_pct: null, encoding_lag_ms: null },
      {
        id: 'virtualcam_output',
        active: false,
        bitrate_kbps: null,
        fps: null,
        drop_pct: null,
        encoding_lag_ms: null,
      },
    ],
    outputConfig: [
      { obs_id: 'simple_stream', display_name: 'Twitch', encoder_group: 'Horizontal', hidden: false },
      { obs_id: 'vertical', display_name: 'TikTok', encoder_group: 'Vertical', hidden: false },
      { obs_id: 'backup', display_name: 'Backup', encoder_group: 'Horizontal', hidden: false },
      { obs_id: 'virtualcam_output', display_name: 'Virtual camera', encoder_group: '', hidden: true },
    ],
    engine: {
      mode: 'studio',
      state: 'STUDIO',
      flags: {
        auto_scene_switch: true,
        low_quality_fallback: true,
        manual_override: false,
        only_while_streaming: true,
        chat_bot: false,
        alerts: true,
      },
      thresholds: { low_bitrate_kbps: 800, offline_bitrate_kbps: 200, low_rtt_ms: 2500, offline_rtt_ms: 0 },
      sceneRoles: {
        live: 'LIVE',
        low: '',
        brb: 'BRB',
        offline: 'OFFLINE',
        managed_extra: [],
        fallback: ['OFFLINE', 'LOW'],
      },
      pendingSwitch: null,
      automation: { state: 'armed', text: 'Telemy switches scenes when the feed changes' },
      missing: [],
      responseBudgetMs: 550,
      lastFailover: null,
      failoversThisSession: 0,
      lastDetectionToSwitchMs: null,
      events: [{ id: 1, at_ms: 1_000, level: 'info', text: 'engine started' }],
    },
    feed: {
      classification: 'normal',
      reason: null,
      source: 'obs_output',
      bitrate_kbps: 6000,
      rtt_ms: 40,
      loss_pct: 0,
    },
    history: { window_ms: 300_000, t: [1000, 2000], bitrate_kbps: [6000, 5900], rtt_ms: [40, null] },
    ipc: 'ok',
  };
}
