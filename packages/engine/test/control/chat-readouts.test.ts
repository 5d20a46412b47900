import { describe, expect, it } from 'vitest';
import { defaultConfig, type SourceConfig } from '../../src/config/index.js';
import { FeedSources } from '../../src/control/feed-sources.js';
import {
  type EngineStatusSummary,
  obsInfoLine,
  type SourceReading,
  sourceInfoLine,
} from '../../src/control/status-summary.js';
import type { MetricsHub } from '../../src/obs/metrics-hub.js';
import { controlRig, silent } from './fixtures.js';

function summary(over: Partial<EngineStatusSummary> = {}): EngineStatusSummary {
  return {
    mode: 'STUDIO',
    status: 'LIVE — feed healthy',
    feed: {
      name: 'phone',
      source: 'phone',
      classification: 'normal',
      bitrate_kbps: 4200,
      rtt_ms: 80,
      loss_pct: 0,
      reason: null,
    },
    sources: [],
    scene: 'LIVE',
    relay: { status: 'off', time_bank_left_s: null },
    obs: {
      connected: true,
      problem: null,
      streaming: true,
      stream_duration_ms: 3_725_000,
      recording: false,
      bitrate_kbps: 6012.4,
      dropped_pct: 0.25,
      encoding_lag_ms: 2,
    },
    ...over,
  };
}

const reading = (over: Partial<SourceReading>): SourceReading => ({
  name: 'phone',
  classification: 'normal',
  bitrate_kbps: null,
  rtt_ms: null,
  loss_pct: null,
  reason: null,
  ...over,
});

describe('!sourceinfo', () => {
  it('gives every source its verdict, the numbers it has and why', () => {
    const s = summary({
      sources: [
        reading({ bitrate_kbps: 4210.6, rtt_ms: 81, reason: 'bitrate 4211 kb/s above 800' }),
        reading({ name: 'backup', classification: 'offline', reason: 'no data for 3 s' }),
      ],
    });
    expect(sourceInfoLine(s)).toBe(
      'phone: normal, 4211 kb/s, RTT 81 ms — bitrate 4211 kb/s above 800 | backup: offline — no data for 3 s',
    );
  });

  it('says so when no source is configured', () => {
    expect(sourceInfoLine(summary())).toBe('no ingest source configured');
  });
});

describe('!obsinfo', () => {
  it('tells streaming, scene, output bitrate, dropped frames and encoding lag', () => {
    expect(obsInfoLine(summary())).toBe(
      'OBS live for 1 h 02 min · scene LIVE · 6012 kb/s · dropped frames 0.3% · encoding lag 2 ms',
    );
  });

  it('leaves the stream numbers out while OBS does not stream, and names recording', () => {
    const s = summary();
    expect(
      obsInfoLine({
        ...s,
        scene: 'BRB',
        obs: { ...s.obs, streaming: false, encoding_lag_ms: null, recording: true },
      }),
    ).toBe('OBS not streaming · scene BRB · recording');
  });

  it('says why OBS is not connected', () => {
    const s = summary();
    expect(obsInfoLine({ ...s, obs: { ...s.obs, connected: false, problem: 'connection refused' } })).toBe(
      'OBS not connected — connection refused',
    );
  });
});

describe('the media source !refresh restarts', () => {
  async function feedWith(sources: SourceConfig[], relayInput: string | null = null) {
    const rig = await controlRig();
    return new FeedSources({
      sources,
      thresholds: defaultConfig().failover,
      hub: { snapshot: () => null } as unknown as MetricsHub,
      obs: rig.obs.asLink(),
      cloud: () => null,
      metrics: rig.metrics,
      logger: silent,
      now: () => 0,
      relayInput: () => relayInput,
    });
  }
  const src = (name: string, priority: number, input?: string): SourceConfig => ({
    name,
    type: 'srt_live_transmit',
    priority,
    enabled: true,
    stats_file: `/tmp/${name}.json`,
    ...(input ? { input } : {}),
  });

  it("is the relay's during an IRL session", async () => {
    const feed = await feedWith([src('phone', 1, 'Phone')], 'Telemy Relay');
    expect(feed.feedInput()).toBe('Telemy Relay');
  });

  it('while no source carries the feed, is the first by priority that names one', async () => {
    const feed = await feedWith([
      src('backup', 20, 'Backup Cam'),
      src('stats', 1),
      src('phone', 10, 'Phone'),
    ]);
    expect(feed.feedInput()).toBe('Phone');
  });

  it('is unknown when no source names an input', async () => {
    const feed = await feedWith([src('stats', 1)]);
    expect(feed.feedInput()).toBeNull();
  });
});
