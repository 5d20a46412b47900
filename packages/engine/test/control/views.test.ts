import { EventEmitter } from 'node:events';
import { dockStateSchema } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/cloudlink/api-schemas.js';
import type { CloudLink, CloudLinkView } from '../../src/cloudlink/cloudlink.js';
import { initialRelayState } from '../../src/cloudlink/relay-state.js';
import { defaultConfig } from '../../src/config/index.js';
import {
  apiStateOf,
  dockStateOf,
  type EngineParts,
  statusSnapshotOf,
  statusSummaryOf,
  takeSnapshot,
} from '../../src/control/engine-views.js';
import { FeedSources } from '../../src/control/feed-sources.js';
import { otlpDisabledStatus } from '../../src/metrics/otlp-status.js';
import type { MetricsHub, MetricsSnapshot } from '../../src/obs/metrics-hub.js';
import { SparklineHistory } from '../../src/server/dock-sparkline.js';
import { sig } from '../failover/sim.js';
import { controlRig, silent } from './fixtures.js';

function hubSnapshot(over: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  return {
    at: 1_000,
    seq: 1,
    obsConnected: true,
    statsError: null,
    stream: {
      active: true,
      reconnecting: false,
      congestion: 0,
      durationMs: 60_000,
      bitrateKbps: 2500,
      windowBitrateKbps: 2500,
      fps: 30,
      dropRatio: 0,
    },
    recording: null,
    obs: null,
    outputs: [],
    system: null,
    ...over,
  };
}

class FakeHub extends EventEmitter<{ sample: [MetricsSnapshot] }> {
  snap = hubSnapshot();
  snapshot(): MetricsSnapshot {
    return structuredClone(this.snap);
  }
  push(over: Partial<MetricsSnapshot>): void {
    this.snap = hubSnapshot({ ...over, at: this.snap.at + 500 });
    this.emit('sample', this.snapshot());
  }
}

const relayRunning: CloudLinkView = {
  at: 0,
  phase: 'active',
  session: {
    status: 'active',
    region: 'local',
    relay: { instance_id: 'i-1', public_ip: null },
    timers: { grace_remaining_seconds: null },
    usage: { duration_seconds: 60 },
  } as unknown as Session,
  relay: initialRelayState(),
  usage: null,
  reachable: true,
  notice: null,
  detail: null,
  pairing: null,
  pairingRevealed: false,
  phoneAddress: null,
  obsSource: { url: null, error: null },
};

describe('every view from one snapshot', () => {
  it('BRB for "relay ingest inactive": the feed card, failover health, IPC and chat all say offline', async () => {
    const rig = await controlRig();
    const hub = new FakeHub();
    const config = defaultConfig();
    const feed = new FeedSources({
      sources: [],
      thresholds: config.failover,
      hub: hub as unknown as MetricsHub,
      obs: rig.obs.asLink(),
      cloud: () => null,
      metrics: rig.metrics,
      logger: silent,
      now: () => Date.now(),
    });
    feed.start();
    rig.obs.st = { ...rig.obs.st, streaming: true };
    rig.controller.streamStatus(true);
    for (let i = 0; i < 4; i++) hub.push({});
    rig.controller.feed(feed.observe(Date.now()));
    // In IRL the local OBS output is healthy while the relay reports no ingest.
    rig.controller.relaySignal(sig.accepted());
    rig.controller.relaySignal(sig.telemetryUp());
    rig.controller.relaySignal(sig.ingestInactive());
    await new Promise((r) => setTimeout(r, 50));
    expect(rig.obs.st.currentScene).toBe('BRB');
    const parts: EngineParts = {
      version: '0.1.0',
      startedAt: 0,
      obs: rig.obs.asLink(),
      hub: hub as unknown as MetricsHub,
      controller: rig.controller,
      store: rig.store,
      vault: rig.vault,
      feed: () => feed.view(),
      history: new SparklineHistory({ now: Date.now }),
      via: 'obs',
      ipcReady: () => false,
      cloud: { view: () => relayRunning, snapshot: () => null } as unknown as CloudLink,
      chatStates: () => null,
      otlp: () => otlpDisabledStatus(defaultConfig().otlp),
      events: () => [],
      failovers: () => ({ count: 1, last: null, lastDetectionToSwitchMs: 12 }),
      programSince: () => 1_000,
    };
    const snap = takeSnapshot(parts, Date.now());
    const dock = dockStateOf(snap);
    expect(dockStateSchema.parse(dock)).toEqual(dock);
    expect(dock.feed).toMatchObject({
      classification: 'offline',
      reason: 'relay ingest inactive',
      source: 'relay',
    });
    expect(dock.failover.health).toBe('offline');
    expect(dock.scenes.automation.state).toBe('armed');
    expect(dock.status.text).toMatch(
      /^BRB since .* — relay ingest inactive; back to LIVE when healthy for 1\.5 s$/,
    );
    expect(dock.links.status).toBe('waiting');
    expect(statusSnapshotOf(snap).health).toBe('offline');
    const summary = statusSummaryOf(snap);
    expect(summary.feed.classification).toBe('offline');
    expect(summary.status).toBe(dock.status.text);
    const api = apiStateOf(snap) as {
      status: unknown;
      engine: { automation: { state: string }; on_air: string };
    };
    expect(api.status).toEqual(dock.status);
    expect(api.engine).toMatchObject({ automation: { state: 'armed' }, on_air: 'BRB' });
    // The per-source rows are the verdicts the controller acted on, not a classification of its own.
    expect(dock.feed.classification).not.toBe(feed.view().sources[0]?.classification);
    feed.stop();
  });
});

describe('FeedSources', () => {
  it('OBS output: not streaming, not answering or no rate yet is unknown; a rate is a reading', async () => {
    const rig = await controlRig();
    const hub = new FakeHub();
    const feed = new FeedSources({
      sources: [],
      thresholds: defaultConfig().failover,
      hub: hub as unknown as MetricsHub,
      obs: rig.obs.asLink(),
      cloud: () => null,
      metrics: rig.metrics,
      logger: silent,
      now: () => hub.snap.at,
    });
    feed.start();
    const verdict = () => feed.observe(hub.snap.at);
    hub.push({ stream: { ...hubSnapshot().stream!, active: false, bitrateKbps: 0 } });
    expect(verdict()).toMatchObject({ health: 'unknown', reason: 'OBS is not streaming' });
    hub.push({ statsError: 'OBS did not answer a batch of 5 within 5000 ms' });
    expect(verdict()).toMatchObject({ health: 'unknown', reason: expect.stringMatching(/did not answer/) });
    hub.push({ obsConnected: false, stream: null });
    expect(verdict()).toMatchObject({ health: 'unknown', reason: 'OBS not connected' });
    hub.push({ stream: { ...hubSnapshot().stream!, windowBitrateKbps: null } });
    expect(verdict()).toMatchObject({ health: 'unknown', reason: 'measuring the OBS output bitrate' });
    hub.push({});
    expect(verdict()).toMatchObject({ health: 'normal', bitrate_kbps: 2500 });
    feed.stop();
  });

  it('an OBS media source: missing input is offline with the reason, OBS not answering is unknown', async () => {
    const rig = await controlRig();
    const feed = new FeedSources({
      sources: [{ name: 'cam', type: 'obs_media_source', priority: 1, enabled: true, input: 'Phone' }],
      thresholds: defaultConfig().failover,
      hub: new FakeHub() as unknown as MetricsHub,
      obs: rig.obs.asLink(),
      cloud: () => null,
      metrics: rig.metrics,
      logger: silent,
      now: Date.now,
    });
    const { ObsRequestError, ObsTimeoutError } = await import('../../src/obs/obs-link.js');
    const poll = async () => {
      feed.start();
      await new Promise((r) => setTimeout(r, 20));
      feed.stop();
      return feed.observe(Date.now());
    };
    rig.obs.mediaStatus = new ObsTimeoutError('GetMediaInputStatus', 5000);
    expect(await poll()).toMatchObject({ health: 'unknown' });
    rig.obs.mediaStatus = new ObsRequestError('GetMediaInputStatus', 600, 'No source was found');
    expect(await poll()).toMatchObject({
      health: 'offline',
      reason: expect.stringMatching(/No source was found/),
    });
    rig.obs.mediaStatus = { mediaState: 'OBS_MEDIA_STATE_PLAYING' };
    expect(await poll()).toMatchObject({ health: 'normal' });
  });
});
