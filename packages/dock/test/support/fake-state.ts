import type { DockState } from '@telemy/protocol';

/**
 * A plausible mid-stream DockState: IRL relay active with two links, two encoder groups, chat and
 * system producers present. Built by hand (not through the engine's projection) so the dock's tests
 * exercise exactly what the protocol allows.
 */
export function fakeDockState(now = Date.now()): DockState {
  const t: number[] = [];
  const bitrate: (number | null)[] = [];
  const rtt: (number | null)[] = [];
  for (let i = 299; i >= 0; i--) {
    t.push(now - i * 1000);
    const dip = i > 120 && i < 140;
    bitrate.push(
      i > 60 && i < 66 ? null : dip ? 450 + (i % 5) * 40 : 5200 + Math.round(Math.sin(i / 9) * 500),
    );
    rtt.push(i > 60 && i < 66 ? null : dip ? 2300 + (i % 4) * 100 : 180 + Math.round(Math.cos(i / 7) * 40));
  }
  return {
    status: {
      level: 'ok',
      text: 'LIVE — feed normal from relay; BRB if no data for 0.5 s',
      since_ms: now - 1_550_000,
    },
    header: {
      product: 'Telemy',
      version: '0.1.0',
      mode: 'irl',
      engine_state: 'IRL_ACTIVE',
      obs: { status: 'connected', detail: null },
      ipc: 'ok',
    },
    live: { streaming: true, recording: false, stream_elapsed_s: 3725, record_elapsed_s: null },
    scenes: {
      available: true,
      list: ['LIVE', 'LOW', 'BRB', 'OFFLINE', 'Just Chatting'],
      active: 'LIVE',
      pending: null,
      managed: ['LIVE', 'LOW', 'BRB', 'OFFLINE'],
      roles: { live: 'LIVE', low: 'LOW', brb: 'BRB', offline: 'OFFLINE' },
      automation: { state: 'armed', text: 'Telemy switches scenes when the feed changes' },
      missing: [],
    },
    feed: {
      classification: 'normal',
      reason: null,
      source: 'relay',
      bitrate_kbps: bitrate[bitrate.length - 1] ?? null,
      rtt_ms: rtt[rtt.length - 1] ?? null,
      loss_pct: 0.4,
      history: { window_ms: 300_000, t, bitrate_kbps: bitrate, rtt_ms: rtt },
      thresholds: { low_bitrate_kbps: 800, offline_bitrate_kbps: 200, low_rtt_ms: 2500, offline_rtt_ms: 0 },
    },
    links: {
      status: 'ok',
      rows: [
        {
          label: 'LTE 1',
          status: 'up',
          bitrate_kbps: 3100,
          rtt_ms: 120,
          loss_pct: 0.2,
          jitter_ms: 6,
          signal: 5,
        },
        {
          label: 'Wi-Fi',
          status: 'degraded',
          bitrate_kbps: 2100,
          rtt_ms: 340,
          loss_pct: 1.8,
          jitter_ms: 22,
          signal: 2,
        },
      ],
    },
    outputs: {
      available: true,
      groups: [
        {
          name: 'Horizontal',
          outputs: [
            {
              id: 'simple_stream',
              display_name: 'Twitch',
              group: 'Horizontal',
              active: true,
              bitrate_kbps: 6000,
              fps: 60,
              drop_pct: 0,
              encoding_lag_ms: 4,
              status: 'healthy',
            },
          ],
          totals: { count: 1, active: 1, bitrate_kbps: 6000 },
        },
        {
          name: 'Vertical',
          outputs: [
            {
              id: 'vertical_out',
              display_name: 'TikTok',
              group: 'Vertical',
              active: true,
              bitrate_kbps: 2900,
              fps: 30,
              drop_pct: 1.6,
              encoding_lag_ms: 12,
              status: 'degraded',
            },
          ],
          totals: { count: 1, active: 1, bitrate_kbps: 2900 },
        },
      ],
      hidden: [
        {
          id: 'virtualcam_output',
          display_name: 'Virtual camera',
          group: 'Outputs',
          active: false,
          bitrate_kbps: null,
          fps: null,
          drop_pct: null,
          encoding_lag_ms: null,
          status: 'offline',
        },
      ],
    },
    relay: {
      status: 'active',
      region: 'eu-central-1',
      uptime_s: 3605,
      latency_ms: 38,
      instance: 'i-0f3a9c',
      grace_remaining_s: null,
      time_bank: { left_s: 41_400, used_s: 12_600, used_pct: 23.3 },
      pairing: { revealed: false, available: true },
      detail: null,
    },
    failover: {
      health: 'good',
      last: {
        at_ms: now - 1_550_000,
        scene: 'LIVE',
        reason: 'feed healthy for 1.5 s',
        rule: 'recovery',
        request_id: 'sw-42',
      },
      count_session: 2,
      response_budget_ms: 550,
      last_detection_to_switch_ms: 84,
    },
    settings: {
      auto_scene_switch: true,
      low_quality_fallback: true,
      manual_override: false,
      only_while_streaming: true,
      chat_bot: true,
      alerts: true,
    },
    chat: {
      configured: true,
      platforms: [
        {
          platform: 'twitch',
          status: 'connected',
          channel: 'streamer',
          read_only: false,
          quota_left: null,
          quota_pace: null,
          detail: null,
          auth: 'pasted',
          account: null,
        },
        {
          platform: 'kick',
          status: 'connected',
          channel: 'streamer',
          read_only: true,
          quota_left: null,
          quota_pace: null,
          detail: 'no Kick OAuth token: read-only',
          auth: 'none',
          account: null,
        },
      ],
    },
    system: {
      available: true,
      cpu_pct: 37,
      mem_used_pct: 58,
      gpu_pct: null,
      net_up_kbps: 9400,
      net_down_kbps: 310,
    },
    events: [
      {
        id: 1,
        at_ms: now - 1_800_000,
        level: 'info',
        text: 'engine started',
        request_id: null,
        acked: false,
      },
      {
        id: 2,
        at_ms: now - 1_560_000,
        level: 'warn',
        text: 'relay ingest stalled: switched to BRB',
        request_id: 'sw-41',
        acked: false,
      },
      {
        id: 3,
        at_ms: now - 1_550_000,
        level: 'info',
        text: 'feed recovered: switched to LIVE',
        request_id: 'sw-42',
        acked: false,
      },
    ],
    config: {
      obs: { host: '127.0.0.1', port: 4455, password_set: true },
      cloud: { mode: 'embedded', base_url: '', region_preference: 'auto', api_key_set: false },
      otlp: { enabled: false, endpoint: '', interval_ms: 15_000, auth_set: false },
      timings: {
        sample_interval_ms: 500,
        offline_after_ms: 500,
        low_after_ms: 1500,
        recover_after_ms: 1500,
        offline_timeout_s: 0,
        offline_hold_s: 3,
        switch_deadline_ms: 550,
      },
      managed_extra: [],
      chat: {
        twitch: { channel: 'streamer', token_set: true },
        kick: { channel: 'streamer', token_set: false },
        youtube: { channel: '', token_set: false },
      },
      sources: [{ name: 'relay', type: 'relay', priority: 10, enabled: true }],
      outputs: [
        { obs_id: 'simple_stream', display_name: 'Twitch', encoder_group: 'Horizontal', hidden: false },
        { obs_id: 'vertical_out', display_name: 'TikTok', encoder_group: 'Vertical', hidden: false },
        { obs_id: 'virtualcam_output', display_name: 'Virtual camera', encoder_group: '', hidden: true },
      ],
    },
  };
}
