import { describe, expect, it } from 'vitest';
import {
  DOCK_ACTION_TYPES,
  dockActionSchema,
  dockClientMessageSchema,
  dockServerMessageSchema,
  dockStateSchema,
  FAILOVER_BOUNDS,
  type SettingsFormInput,
  settingsFieldErrors,
  settingsFormSchema,
  thresholdsFormSchema,
} from '../../src/index.js';

function validSettings(): SettingsFormInput {
  return {
    obs: { host: '127.0.0.1', port: 4455, password: '' },
    scenes: { live: 'LIVE', low: 'LOW', brb: 'BRB', offline: 'OFFLINE', managed_extra: [] },
    thresholds: { low_bitrate_kbps: 800, offline_bitrate_kbps: 200, low_rtt_ms: 2500, offline_rtt_ms: 0 },
    timings: {
      sample_interval_ms: 500,
      offline_after_ms: 500,
      low_after_ms: 1500,
      recover_after_ms: 1500,
      offline_timeout_s: 0,
      offline_hold_s: 3,
      switch_deadline_ms: 550,
    },
    sources: [
      { name: 'phone', type: 'srt_live_transmit', priority: 10, enabled: true, stats_file: '/tmp/s.json' },
    ],
    chat: { twitch: { channel: 'me' }, kick: { channel: '' }, youtube: { channel: '' } },
    cloud: { mode: 'embedded', base_url: '', region_preference: 'auto' },
    otlp: { enabled: false, endpoint: '', interval_ms: 15_000 },
    outputs: [
      { obs_id: 'simple_stream', display_name: 'Twitch', encoder_group: 'Horizontal', hidden: false },
    ],
  };
}

describe('dock action schema', () => {
  it('covers every dock action, the settings-page actions included', () => {
    expect(new Set(DOCK_ACTION_TYPES)).toEqual(
      new Set([
        'set_mode',
        'switch_scene',
        'set_setting',
        'relay_start',
        'relay_stop',
        'reveal_pairing',
        'set_thresholds',
        'set_scene_roles',
        'set_output_config',
        'fix_media_sources',
        'ack_event',
        'set_obs_connection',
        'save_settings',
      ]),
    );
  });

  it('requires an action_id and rejects unknown fields', () => {
    expect(dockActionSchema.safeParse({ type: 'relay_stop' }).success).toBe(false);
    expect(dockActionSchema.safeParse({ type: 'relay_stop', action_id: 'a b' }).success).toBe(false);
    expect(dockActionSchema.safeParse({ type: 'relay_stop', action_id: 'a1', extra: 1 }).success).toBe(false);
    expect(dockActionSchema.parse({ type: 'reveal_pairing', action_id: 'a1' })).toEqual({
      type: 'reveal_pairing',
      action_id: 'a1',
      reveal: true,
    });
    expect(
      dockActionSchema.safeParse({ type: 'set_setting', action_id: 'a', key: 'nope', value: true }).success,
    ).toBe(false);
    expect(
      dockClientMessageSchema.safeParse({
        type: 'action',
        action: { type: 'switch_scene', action_id: 'a', scene: 'BRB' },
      }).success,
    ).toBe(true);
  });
});

describe('settings form schema', () => {
  it('accepts a valid form and turns empty optional fields and secrets into undefined', () => {
    const parsed = settingsFormSchema.parse(validSettings());
    expect(parsed.obs.password).toBeUndefined();
    expect(parsed.cloud.base_url).toBeUndefined();
    expect(parsed.otlp.endpoint).toBeUndefined();
    expect(parsed.sources[0]).toEqual({
      name: 'phone',
      type: 'srt_live_transmit',
      priority: 10,
      enabled: true,
      stats_file: '/tmp/s.json',
      url: undefined,
      input: undefined,
    });
    const withSecret = validSettings();
    withSecret.obs.password = 'hunter2hunter2';
    expect(settingsFormSchema.parse(withSecret).obs.password).toBe('hunter2hunter2');
    // The dock sends the parsed form; the engine parses it again, so the output must be valid input.
    expect(settingsFormSchema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
  });

  it('refuses out-of-range values with the bound in the message, keyed by field path', () => {
    const f = validSettings();
    f.thresholds.low_rtt_ms = FAILOVER_BOUNDS.low_rtt_ms.max + 1;
    f.timings.switch_deadline_ms = 10;
    f.obs.port = 70_000;
    const r = settingsFormSchema.safeParse(f);
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(settingsFieldErrors(r.error)).toEqual({
      'thresholds.low_rtt_ms': 'must be at most 60000',
      'timings.switch_deadline_ms': 'must be at least 100',
      'obs.port': 'must be at most 65535',
    });
  });

  it('checks the thresholds against each other', () => {
    const r = thresholdsFormSchema.safeParse({
      low_bitrate_kbps: 500,
      offline_bitrate_kbps: 600,
      low_rtt_ms: 2000,
      offline_rtt_ms: 1000,
    });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(Object.keys(settingsFieldErrors(r.error)).sort()).toEqual([
      'offline_bitrate_kbps',
      'offline_rtt_ms',
    ]);
  });

  it('requires the per-type field of a source, a URL for remote cloud and distinct scene roles', () => {
    const f = validSettings();
    f.sources = [{ name: 'sls', type: 'sls', priority: 1, enabled: true }];
    f.cloud = { mode: 'remote', base_url: '', region_preference: 'auto' };
    f.scenes.brb = 'LIVE';
    f.otlp = { enabled: true, endpoint: 'not a url', interval_ms: 15_000 };
    const r = settingsFormSchema.safeParse(f);
    expect(r.success).toBe(false);
    if (r.success) return;
    const errs = settingsFieldErrors(r.error);
    expect(errs['sources.0.url']).toBe('is required for type sls');
    expect(errs['cloud.base_url']).toBe('is required when the cloud mode is remote');
    expect(errs['scenes.brb']).toBe('is the same scene as live');
    expect(errs['otlp.endpoint']).toContain('URL');
  });

  it('refuses a number given as text', () => {
    const f = validSettings() as unknown as { thresholds: Record<string, unknown> };
    f.thresholds.low_bitrate_kbps = '800';
    const r = settingsFormSchema.safeParse(f);
    expect(r.success).toBe(false);
  });
});

describe('dock state and envelope schemas', () => {
  it('reject a revealed pairing without its fields and a chat section with platforms but not configured', () => {
    const pairing = dockStateSchema.shape.relay.shape.pairing;
    expect(pairing.safeParse({ revealed: true, available: true }).success).toBe(false);
    expect(pairing.safeParse({ revealed: false, available: true }).success).toBe(true);
    const chat = dockStateSchema.shape.chat;
    expect(chat.safeParse({ configured: false }).success).toBe(true);
    expect(chat.safeParse({ configured: true }).success).toBe(false);
  });

  it('parses the server messages', () => {
    expect(
      dockServerMessageSchema.safeParse({
        type: 'action_result',
        action_id: 'a',
        action: 'x',
        status: 'completed',
      }).success,
    ).toBe(true);
    expect(
      dockServerMessageSchema.safeParse({ type: 'lifecycle', phase: 'restarting', detail: null }).success,
    ).toBe(true);
    expect(
      dockServerMessageSchema.safeParse({ type: 'lifecycle', phase: 'exploding', detail: null }).success,
    ).toBe(false);
  });
});
