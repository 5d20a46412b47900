import { type IpcMessage, makeMessage, type StatusSnapshotPayload } from '../../src/ipc/index.js';

export function snapshot(overrides: Partial<StatusSnapshotPayload> = {}): StatusSnapshotPayload {
  return {
    mode: 'studio',
    engine_state: 'STUDIO',
    health: 'good',
    bitrate_kbps: 6000,
    rtt_ms: null,
    override_enabled: false,
    flags: {
      auto_scene_switch: true,
      low_quality_fallback: true,
      manual_override: false,
      chat_bot: false,
      alerts: true,
    },
    thresholds: { low_bitrate_kbps: 1500, offline_bitrate_kbps: 300 },
    relay: {
      status: 'inactive',
      region: null,
      grace_remaining_seconds: null,
      uptime_seconds: null,
      time_bank_seconds_remaining: null,
    },
    scene: { active: 'Live', pending_request_id: null, pending_scene: null },
    outputs: [],
    ...overrides,
  };
}

/** One valid message of every type (used for round trips and as the "valid frame" in fuzzing). */
export function oneOfEach(): IpcMessage[] {
  return [
    makeMessage('hello', {
      plugin_version: '0.1.0',
      protocol_version: 1,
      obs_pid: 42,
      capabilities: ['scene_switch'],
    }),
    makeMessage('ping', { nonce: 'n1' }),
    makeMessage('request_status', {}),
    makeMessage('scene_switch_result', { request_id: 'r1', ok: true, error: null }),
    makeMessage('obs_shutdown_notice', { reason: 'obs_exit' }),
    makeMessage('set_mode_request', { mode: 'irl' }),
    makeMessage('set_setting_request', { key: 'chat_bot', value: false }),
    makeMessage('scene_list', { scenes: ['Live', 'BRB'], current: 'Live' }),
    makeMessage('hello_ack', { core_version: '0.1.0', protocol_version: 1, capabilities: ['state_machine'] }),
    makeMessage('pong', { nonce: 7 }),
    makeMessage('status_snapshot', snapshot()),
    makeMessage('switch_scene', {
      request_id: 'r2',
      scene_name: 'BRB',
      reason: 'auto_failover',
      deadline_ms: 550,
    }),
    makeMessage('user_notice', { level: 'warn', message: 'hi' }),
    makeMessage('shutdown_request', { reason: 'manual_exit' }),
    makeMessage('protocol_error', { code: 'unknown_type', message: 'x', related_message_id: null }),
  ];
}
