import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverController } from '../../packages/engine/src/failover/controller.js';
import {
  AUTOMATION_DEFAULTS,
  FAILOVER_DEFAULTS,
  SCENE_DEFAULTS,
} from '../../packages/engine/src/failover/params.js';
import { EngineMetrics } from '../../packages/engine/src/metrics/metrics.js';
import { ObsLink } from '../../packages/engine/src/obs/obs-link.js';
import {
  DirectSceneSwitcher,
  obsLinkSwitchPort,
} from '../../packages/engine/src/scenes/direct-scene-switcher.js';
import { FeedMonitor } from '../../packages/engine/src/sources/feed-monitor.js';
import { SrtStatsFileTail } from '../../packages/engine/src/sources/srt-stats-tail.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { type SrtFeed, startSrtFeed } from '../support/srt-feed.js';

/**
 * Issue 3 end to end without the HTTP server: real OBS, real SRT (ffmpeg → srt-live-transmit with
 * JSON stats), the stats-file tail, FeedMonitor, FailoverController and DirectSceneSwitcher.
 */

const OBS_PORT = 47040;
const SRT_PORT = 47041;
const SINK_PORT = 47042;
const PASSWORD = 'failover-e2e-pw';

let obs: ObsHandle;
let link: ObsLink;
let controller: FailoverController;
let tail: SrtStatsFileTail;
/** The "phone": constant-bitrate video so the feed class is predictable, retried like a phone. */
let phone: SrtFeed;
const firstSampleAfter: { since: number; at: number | null } = { since: 0, at: null };

function publish(kbps: number): void {
  if (phone.publishedAt() === null) {
    firstSampleAfter.since = Date.now();
    firstSampleAfter.at = null;
  }
  phone.publish(kbps);
}

async function until(what: string, ms: number, probe: () => boolean | Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now();
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const onAir = () => obs.currentScene();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  obs = await startObs({
    port: OBS_PORT,
    password: PASSWORD,
    scenes: ['BRB', 'LIVE', 'LOW', 'OFFLINE', 'Privacy'],
  });
  const dir = mkdtempSync(join(tmpdir(), 'telemy-failover-e2e-'));
  phone = await startSrtFeed({ port: SRT_PORT, sinkPort: SINK_PORT, dir });
  const logger = createLogger('failover-e2e', { level: 'silent' });
  const metrics = new EngineMetrics();
  link = new ObsLink({ host: '127.0.0.1', port: OBS_PORT, password: PASSWORD, logger, metrics });
  const params = { ...FAILOVER_DEFAULTS, low_bitrate_kbps: 800, offline_bitrate_kbps: 200 };
  const monitor = new FeedMonitor([{ name: 'phone', priority: 1 }], params, { logger, metrics });
  controller = new FailoverController({
    params,
    // Failover itself, without a stream going out; going live is streamer-day.test.ts.
    flags: { ...AUTOMATION_DEFAULTS, only_while_streaming: false },
    scenes: SCENE_DEFAULTS,
    switcher: new DirectSceneSwitcher(obsLinkSwitchPort(link)),
    scenePathVia: 'obs',
    metrics,
    logger,
    feedMonitor: monitor,
    readProgramScene: async () => (await link.call('GetCurrentProgramScene')).currentProgramSceneName,
  });
  link.on('sceneChanged', (scene) => controller.programScene(scene));
  link.on('connected', () => controller.scenePathChanged());
  link.on('disconnected', () => {
    controller.programScene(null);
    controller.scenePathChanged();
  });
  tail = new SrtStatsFileTail({
    source: 'phone',
    file: phone.statsFile,
    intervalMs: 100,
    // A read that finds nothing new is what ages the last line (and turns a dead phone stale).
    onLooked: (at) => {
      monitor.looked('phone', at);
      controller.feed(monitor.observe(Date.now()));
    },
    onSample: (s) => {
      if (s.connected && firstSampleAfter.at === null) firstSampleAfter.at = Date.now();
      monitor.ingest(s);
      controller.feed(monitor.observe(Date.now()));
    },
  });
  link.start();
  await until('OBS identified', 20_000, () => link.connected);
  controller.start();
  tail.start();
});

afterAll(async () => {
  tail?.stop();
  controller?.stop();
  await phone?.stop();
  await link?.stop();
  await obs?.dispose();
});

describe('failover on real OBS with real SRT', () => {
  it('cold start reaches LIVE once the feed has been normal for the recovery window', async () => {
    expect(await onAir()).toBe('BRB');
    publish(2000);
    const live = await until('LIVE', 20_000, async () => (await onAir()) === 'LIVE');
    expect(firstSampleAfter.at).not.toBeNull();
    expect(live - (firstSampleAfter.at ?? 0)).toBeGreaterThanOrEqual(900);
    await until('the recorded switch result', 2000, () =>
      controller
        .events()
        .some((e) => e.kind === 'switch_result' && e.data.rule === 'recovery' && e.data.result === 'ok'),
    );
  });

  it('killing the publisher puts BRB on air; restarting it brings LIVE back only after the recovery window', async () => {
    await phone.kill();
    await until('BRB', 5000, async () => (await onAir()) === 'BRB');
    await until('the recorded BRB result', 2000, () =>
      controller.events().some((e) => e.kind === 'switch_result' && e.data.scene === 'BRB'),
    );
    const brb = controller.events().findLast((e) => e.kind === 'switch_result' && e.data.scene === 'BRB');
    expect(brb?.data).toMatchObject({ rule: 'local_failover', result: 'ok', reason: 'auto_failover' });
    expect(brb?.request_id).toMatch(/\S/);
    await sleep(300);
    publish(2000);
    const live = await until('LIVE again', 20_000, async () => (await onAir()) === 'LIVE');
    expect(live - (firstSampleAfter.at ?? live)).toBeGreaterThanOrEqual(900);
  });

  it('a bitrate under low_bitrate_kbps shows LOW, and LIVE again when it recovers', async () => {
    await phone.kill();
    publish(400);
    await until('LOW', 20_000, async () => (await onAir()) === 'LOW');
    await phone.kill();
    publish(2000);
    await until('LIVE after LOW', 20_000, async () => (await onAir()) === 'LIVE');
  });

  it('an unmanaged scene on air blocks automation until a managed scene is back', async () => {
    await obs.setScene('Privacy');
    await sleep(200);
    await phone.kill();
    await sleep(2500);
    expect(await onAir()).toBe('Privacy');
    expect(
      controller.events().some((e) => e.kind === 'guard_rejected' && e.data.guard === 'unmanaged_scene'),
    ).toBe(true);
    await obs.setScene('LIVE');
    await until('BRB after the operator left Privacy', 5000, async () => (await onAir()) === 'BRB');
  });

  it('manual_override on: no automatic switch', async () => {
    publish(2000);
    await until('LIVE before override', 20_000, async () => (await onAir()) === 'LIVE');
    controller.setFlags({ manual_override: true });
    // The LIVE switch above may still be confirming: count only switches away from LIVE.
    const requested = () =>
      controller.events().filter((e) => e.kind === 'switch_result' && e.data.scene !== 'LIVE').length;
    const before = requested();
    await phone.kill();
    await sleep(2500);
    expect(await onAir()).toBe('LIVE');
    expect(requested()).toBe(before);
    expect(
      controller.events().some((e) => e.kind === 'guard_rejected' && e.data.guard === 'manual_override'),
    ).toBe(true);
    expect(controller.diagnostics().since_start.switches.ok).toBeGreaterThanOrEqual(7);
  });

  it('OBS restarted mid-stream: DEGRADED while it is gone, then resync without a wrong switch', async () => {
    controller.setFlags({ manual_override: false });
    publish(2000);
    await until('LIVE before the OBS restart', 20_000, async () => (await onAir()) === 'LIVE');
    await sleep(500);
    const before = controller.events().filter((e) => e.kind === 'switch_result').length;
    await obs.restart();
    await until('engine back from DEGRADED', 30_000, () => link.connected && controller.mode() === 'STUDIO');
    await sleep(1500);
    // OBS comes back on whatever its scene collection restores; the engine must follow that, and
    // only ever ask for LIVE (the feed is normal), or nothing when the restored scene is unmanaged.
    const restored = await onAir();
    expect(controller.state().programScene).toBe(restored);
    const during = controller
      .events()
      .filter((e) => e.kind === 'switch_result')
      .slice(before);
    if (['LIVE', 'LOW', 'BRB', 'OFFLINE'].includes(restored)) {
      await until('LIVE after resync', 5000, async () => (await onAir()) === 'LIVE');
      expect(during.every((e) => e.data.scene === 'LIVE')).toBe(true);
    } else {
      expect(during).toEqual([]);
    }
    const trail = controller
      .events()
      .filter((e) => e.kind === 'mode_transition')
      .map((e) => `${e.data.from}>${e.data.to}`);
    expect(trail).toEqual(expect.arrayContaining(['STUDIO>DEGRADED', 'DEGRADED>STUDIO']));
  });
});
