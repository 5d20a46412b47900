import { dockStateSchema } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import {
  buildDockState,
  linkSignal,
  outputSamplesFromHub,
  outputStatus,
  pairingQrSvg,
  type RelayInput,
  systemInputFromSample,
} from '../../src/server/dock-state.js';
import { baseInputs } from './dock-fixtures.js';

const PAIR = {
  srt_url: 'srt://relay.example:9000?streamid=publish:abc&passphrase=SECRETPASSPHRASE123',
  srtla_url: 'srtla://relay.example:9002?passphrase=SECRETPASSPHRASE123&latency=2000',
  qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1v1H0z"/></svg>',
  obs_source_url: 'srt://relay.example:9001?streamid=play:abc&passphrase=SECRETPASSPHRASE123',
};

function relay(overrides: Partial<RelayInput> = {}): RelayInput {
  return {
    status: 'active',
    region: 'eu-west-1',
    uptime_s: 125.7,
    latency_ms: 42,
    instance: 'i-0abc',
    grace_remaining_s: null,
    time_bank: { left_s: 7200, used_s: 1800 },
    pairing: PAIR,
    pairingRevealed: false,
    links: [
      { label: 'LTE 1', status: 'active', bitrate_kbps: 3000, rtt_ms: 80, loss_pct: 0.2, jitter_ms: 4 },
      { label: 'Wi-Fi', status: 'degraded', bitrate_kbps: 900, rtt_ms: 700, loss_pct: 6, jitter_ms: 40 },
      {
        label: 'LTE 2',
        status: 'disconnected',
        bitrate_kbps: null,
        rtt_ms: null,
        loss_pct: null,
        jitter_ms: null,
      },
    ],
    detail: null,
    ...overrides,
  };
}

describe('buildDockState', () => {
  it('produces a state that satisfies the protocol schema', () => {
    const state = buildDockState(baseInputs());
    expect(dockStateSchema.parse(state)).toEqual(state);
    const full = buildDockState({
      ...baseInputs(),
      relay: relay({ pairingRevealed: true }),
      chat: {
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
        ],
      },
      system: { cpu_pct: 23.5, mem_used_pct: 61, gpu_pct: null, net_up_kbps: 6500, net_down_kbps: 120 },
    });
    expect(dockStateSchema.parse(full)).toEqual(full);
  });

  it('header carries mode, engine state, OBS link and IPC link', () => {
    const i = baseInputs();
    i.engine.mode = 'irl';
    i.engine.state = 'IRL_GRACE';
    i.ipc = 'degraded';
    expect(buildDockState(i).header).toEqual({
      product: 'Telemy',
      version: '0.1.0',
      mode: 'irl',
      engine_state: 'IRL_GRACE',
      obs: { status: 'connected', detail: null },
      ipc: 'degraded',
    });
  });

  it('live shows streaming with whole elapsed seconds, and unknown (null) when OBS is down', () => {
    expect(buildDockState(baseInputs()).live).toEqual({
      streaming: true,
      recording: false,
      stream_elapsed_s: 65,
      record_elapsed_s: null,
    });
    const i = baseInputs();
    i.obs.connection = 'disconnected';
    i.obs.lastError = 'connect ECONNREFUSED 127.0.0.1:4455';
    const s = buildDockState(i);
    expect(s.live).toEqual({
      streaming: null,
      recording: null,
      stream_elapsed_s: null,
      record_elapsed_s: null,
    });
    expect(s.header.obs).toEqual({ status: 'disconnected', detail: 'connect ECONNREFUSED 127.0.0.1:4455' });
    expect(s.scenes.available).toBe(false);
    expect(s.outputs).toEqual({ available: false, groups: [], hidden: [] });
  });

  it('scenes: list, active, pending, managed roles, automation status and missing role scenes', () => {
    const i = baseInputs();
    i.engine.pendingSwitch = { request_id: 'req-1', scene: 'BRB' };
    i.engine.sceneRoles.managed_extra = ['Intermission', 'LIVE'];
    i.engine.automation = { state: 'blocked', text: "scene 'BRB' does not exist in OBS" };
    i.engine.missing = [{ role: 'BRB', scene: 'BRB', stand_in: null }];
    const s = buildDockState(i).scenes;
    expect(s.list).toEqual(['LIVE', 'BRB', 'OFFLINE', 'Intermission']);
    expect(s.active).toBe('LIVE');
    expect(s.pending).toEqual({ request_id: 'req-1', scene: 'BRB' });
    expect(s.managed).toEqual(['LIVE', 'BRB', 'OFFLINE', 'Intermission']);
    expect(s.roles).toEqual({ live: 'LIVE', low: '', brb: 'BRB', offline: 'OFFLINE' });
    expect(s.automation).toEqual({ state: 'blocked', text: "scene 'BRB' does not exist in OBS" });
    expect(s.missing).toEqual([{ role: 'BRB', scene: 'BRB', stand_in: null }]);
  });

  it('feed: classification, values, history and thresholds; unknown without a producer', () => {
    const s = buildDockState(baseInputs()).feed;
    expect(s).toMatchObject({
      classification: 'normal',
      source: 'obs_output',
      bitrate_kbps: 6000,
      rtt_ms: 40,
    });
    expect(s.history.rtt_ms).toEqual([40, null]);
    expect(s.thresholds).toEqual({
      low_bitrate_kbps: 800,
      offline_bitrate_kbps: 200,
      low_rtt_ms: 2500,
      offline_rtt_ms: 0,
    });

    const i = baseInputs();
    i.feed = null;
    const none = buildDockState(i);
    expect(none.feed).toMatchObject({
      classification: 'unknown',
      source: null,
      bitrate_kbps: null,
      rtt_ms: null,
      loss_pct: null,
    });
    expect(none.failover.health).toBe('unknown');
  });

  it('outputs: grouped by encoder group in config order with totals; hidden listed apart', () => {
    const o = buildDockState(baseInputs()).outputs;
    expect(o.available).toBe(true);
    expect(o.groups.map((g) => g.name)).toEqual(['Horizontal', 'Vertical']);
    const horizontal = o.groups[0]!;
    expect(horizontal.outputs.map((r) => [r.display_name, r.status])).toEqual([
      ['Twitch', 'healthy'],
      ['Backup', 'offline'],
    ]);
    expect(horizontal.totals).toEqual({ count: 2, active: 1, bitrate_kbps: 6000 });
    expect(o.groups[1]!.outputs[0]).toMatchObject({
      id: 'vertical',
      display_name: 'TikTok',
      status: 'degraded',
    });
    expect(o.hidden.map((r) => r.id)).toEqual(['virtualcam_output']);
    expect(horizontal.outputs[1]!.bitrate_kbps).toBeNull();
  });

  it('outputs without config fall into one default group named by their OBS id', () => {
    const i = baseInputs();
    i.outputConfig = [];
    const o = buildDockState(i).outputs;
    expect(o.groups).toHaveLength(1);
    expect(o.groups[0]!.name).toBe('Outputs');
    expect(o.groups[0]!.outputs.map((r) => r.display_name)).toContain('virtualcam_output');
  });

  it('output status and link signal rules', () => {
    const base = { id: 'x', active: true, bitrate_kbps: 1, fps: 30, drop_pct: 0, encoding_lag_ms: 0 };
    expect(outputStatus(base)).toBe('healthy');
    expect(outputStatus({ ...base, drop_pct: 1.5 })).toBe('degraded');
    expect(outputStatus({ ...base, encoding_lag_ms: 40 })).toBe('degraded');
    expect(outputStatus({ ...base, drop_pct: 7 })).toBe('critical');
    expect(outputStatus({ ...base, encoding_lag_ms: 150 })).toBe('critical');
    expect(outputStatus({ ...base, active: false })).toBe('offline');

    expect(linkSignal({ status: 'active', rtt_ms: 50, loss_pct: 0 })).toBe(5);
    expect(linkSignal({ status: 'active', rtt_ms: 200, loss_pct: 2 })).toBe(3);
    expect(linkSignal({ status: 'degraded', rtt_ms: 2000, loss_pct: 20 })).toBe(0);
    expect(linkSignal({ status: 'disconnected', rtt_ms: 10, loss_pct: 0 })).toBe(0);
    expect(linkSignal({ status: 'active', rtt_ms: null, loss_pct: null })).toBe(0);
  });

  it('relay and links are explicitly not configured without a relay producer', () => {
    const s = buildDockState(baseInputs());
    expect(s.relay).toEqual({
      status: 'not_configured',
      region: null,
      uptime_s: null,
      latency_ms: null,
      instance: null,
      grace_remaining_s: null,
      time_bank: null,
      pairing: { revealed: false, available: false },
      detail: null,
    });
    expect(s.links).toEqual({ status: 'not_configured', rows: [] });
  });

  it("relay: the phone's address and why, shown without revealing the pairing", () => {
    const address = {
      host: '192.168.1.23',
      reason: 'first non-internal IPv4 address of this machine (wlan0)',
    };
    const s = buildDockState({ ...baseInputs(), relay: relay({ phone_address: address }) });
    expect(s.relay.phone_address).toEqual(address);
    expect(s.relay.pairing).toEqual({ revealed: false, available: true });
    expect(buildDockState({ ...baseInputs(), relay: relay() }).relay.phone_address).toBeNull();
  });

  it('relay: status, uptime, Time Bank percentage, links with signal bars', () => {
    const s = buildDockState({ ...baseInputs(), relay: relay() });
    expect(s.relay).toMatchObject({
      status: 'active',
      region: 'eu-west-1',
      uptime_s: 125,
      latency_ms: 42,
      instance: 'i-0abc',
      grace_remaining_s: null,
      time_bank: { left_s: 7200, used_s: 1800, used_pct: 20 },
    });
    expect(s.links.status).toBe('ok');
    expect(s.links.rows.map((r) => [r.label, r.status, r.signal])).toEqual([
      ['LTE 1', 'up', 5],
      ['Wi-Fi', 'degraded', 0],
      ['LTE 2', 'down', 0],
    ]);
    const waiting = buildDockState({
      ...baseInputs(),
      relay: relay({ links: null, status: 'provisioning' }),
    });
    expect(waiting.links).toEqual({ status: 'waiting', rows: [] });
    // No session at all: not "waiting for telemetry" but not running.
    const off = buildDockState({ ...baseInputs(), relay: relay({ links: null, status: 'inactive' }) });
    expect(off.links).toEqual({ status: 'inactive', rows: [] });
    const grace = buildDockState({
      ...baseInputs(),
      relay: relay({ status: 'grace', grace_remaining_s: 512.4 }),
    });
    expect(grace.relay.grace_remaining_s).toBe(512);
  });

  it('pairing secrets stay out of the state until revealed', () => {
    const hidden = buildDockState({ ...baseInputs(), relay: relay() });
    expect(hidden.relay.pairing).toEqual({ revealed: false, available: true });
    const json = JSON.stringify(hidden);
    expect(json).not.toContain('SECRETPASSPHRASE123');
    expect(json).not.toContain('<svg');

    const shown = buildDockState({ ...baseInputs(), relay: relay({ pairingRevealed: true }) });
    expect(shown.relay.pairing).toEqual({ revealed: true, available: true, ...PAIR });

    const noSession = buildDockState({
      ...baseInputs(),
      relay: relay({ pairing: null, pairingRevealed: true }),
    });
    expect(noSession.relay.pairing).toEqual({ revealed: false, available: false });
  });

  it('failover: health from the feed, last failover, count, budget and latency', () => {
    const i = baseInputs();
    i.feed!.classification = 'low';
    i.engine.lastFailover = {
      at_ms: 5000,
      scene: 'BRB',
      reason: 'bitrate 0 kb/s',
      rule: 'local_safety',
      request_id: 'r9',
    };
    i.engine.failoversThisSession = 3;
    i.engine.lastDetectionToSwitchMs = 123;
    expect(buildDockState(i).failover).toEqual({
      health: 'degraded',
      last: { at_ms: 5000, scene: 'BRB', reason: 'bitrate 0 kb/s', rule: 'local_safety', request_id: 'r9' },
      count_session: 3,
      response_budget_ms: 550,
      last_detection_to_switch_ms: 123,
    });
  });

  it('settings toggles mirror the automation flags', () => {
    const i = baseInputs();
    i.engine.flags.alerts = false;
    expect(buildDockState(i).settings).toEqual({
      auto_scene_switch: true,
      low_quality_fallback: true,
      manual_override: false,
      only_while_streaming: true,
      chat_bot: false,
      alerts: false,
    });
  });

  it('chat and system say so when their producers are absent, and pass values through when present', () => {
    const s = buildDockState(baseInputs());
    expect(s.chat).toEqual({ configured: false });
    expect(s.system).toEqual({ available: false });
    expect(s.config).toBeNull();
    const withSys = buildDockState({
      ...baseInputs(),
      system: { cpu_pct: 140, mem_used_pct: 50, gpu_pct: 12, net_up_kbps: Number.NaN, net_down_kbps: 5 },
      chat: {
        platforms: [
          {
            platform: 'kick',
            status: 'connected',
            channel: 'k',
            read_only: true,
            quota_left: null,
            quota_pace: null,
            detail: 'no OAuth token: read-only',
            auth: 'none',
            account: null,
          },
        ],
      },
    });
    expect(withSys.system).toEqual({
      available: true,
      cpu_pct: 100,
      mem_used_pct: 50,
      gpu_pct: 12,
      net_up_kbps: null,
      net_down_kbps: 5,
    });
    expect(withSys.chat).toMatchObject({
      configured: true,
      platforms: [{ platform: 'kick', read_only: true }],
    });
  });

  it('events: the last 200, with request ids and ack state', () => {
    const i = baseInputs();
    i.engine.events = Array.from({ length: 250 }, (_, n) => ({
      id: n,
      at_ms: n * 10,
      level: n % 2 ? ('warn' as const) : ('info' as const),
      text: `event ${n}`,
      request_id: n === 249 ? 'req-249' : undefined,
      acked: n === 248,
    }));
    const ev = buildDockState(i).events;
    expect(ev).toHaveLength(200);
    expect(ev[0]!.id).toBe(50);
    expect(ev[199]).toEqual({
      id: 249,
      at_ms: 2490,
      level: 'warn',
      text: 'event 249',
      request_id: 'req-249',
      acked: false,
    });
    expect(ev[198]!.acked).toBe(true);
  });

  it('is pure: the output shares no mutable arrays with the inputs', () => {
    const i = baseInputs();
    const s = buildDockState(i);
    s.scenes.list.push('X');
    s.settings.alerts = false;
    expect(i.obs.scenes).not.toContain('X');
    expect(i.engine.flags.alerts).toBe(true);
  });

  it('renders the pairing QR code as an inline SVG without scripts', async () => {
    const svg = await pairingQrSvg(PAIR.srt_url);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<path');
    expect(svg).not.toMatch(/<script|on\w+=/i);
    expect(await pairingQrSvg(PAIR.srt_url)).toBe(svg);
  });

  it('maps metrics-hub outputs and host samples into projection input', () => {
    const hubRow = {
      id: 'simple_stream',
      displayName: 'Twitch',
      group: 'Horizontal',
      kind: 'rtmp_output',
      active: true,
      bitrateKbps: 2500,
      fps: 30,
      dropRatio: 0.02,
      congestion: 0,
      reconnecting: true,
      durationMs: 1000,
      encodingLagMs: 40,
      bytesTotal: 1,
      framesTotal: 1,
      skippedFramesTotal: 0,
    };
    const rows = outputSamplesFromHub([hubRow]);
    expect(rows).toEqual([
      {
        id: 'simple_stream',
        active: true,
        bitrate_kbps: 2500,
        fps: 30,
        drop_pct: 2,
        encoding_lag_ms: 40,
        reconnecting: true,
      },
    ]);
    expect(outputStatus(rows[0]!)).toBe('critical');
    // The hub's encoder lag alone decides the status of an otherwise clean output.
    const [lagging] = outputSamplesFromHub([{ ...hubRow, reconnecting: false, dropRatio: 0 }]);
    expect(outputStatus(lagging!)).toBe('degraded');
    const [clean] = outputSamplesFromHub([
      { ...hubRow, reconnecting: false, dropRatio: 0, encodingLagMs: 0 },
    ]);
    expect(outputStatus(clean!)).toBe('healthy');

    expect(systemInputFromSample(null)).toBeNull();
    const base = { at: 0, memoryUsedBytes: null, memoryTotalBytes: null, gpuRatio: null };
    expect(systemInputFromSample({ ...base, cpuRatio: null, memoryRatio: 0.5, network: null })).toBeNull();
    expect(
      systemInputFromSample({
        ...base,
        cpuRatio: 0.25,
        memoryRatio: 0.5,
        gpuRatio: 0.1,
        network: { rxBytesPerSec: 1000, txBytesPerSec: 125_000 },
      }),
    ).toEqual({ cpu_pct: 25, mem_used_pct: 50, gpu_pct: 10, net_up_kbps: 1000, net_down_kbps: 8 });
  });
});
