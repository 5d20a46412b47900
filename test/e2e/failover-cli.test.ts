import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineApi, type EngineEvent } from '../support/engine-api.js';
import { launchTelemy, setSecrets, toml, writeEngineConfig } from '../support/engine-run.js';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import { ProgramLog, type Stamped } from '../support/obs-program.js';
import { type SrtFeed, startSrtFeed } from '../support/srt-feed.js';
import {
  AUTOMATION_WITHOUT_STREAM,
  eventually,
  newTelemyHome,
  type TelemyProcess,
} from '../support/telemy-process.js';

/**
 * Issue 3 end to end through the real `telemy engine` binary (direct switching): real OBS, a real
 * SRT feed (ffmpeg → srt-live-transmit with JSON stats) as the `srt_live_transmit` source. OBS is
 * watched through its own events (CurrentProgramSceneChanged), the engine through `/api/state`.
 */

const OBS_PORT = 44600;
const ENGINE_PORT = 7190;
const SRT_PORT = 45100;
const SINK_PORT = 45101;
const PASSWORD = 'failover-cli-pw';
const RECOVER_AFTER_MS = 1500;
const SAMPLE_MS = 500;
const api = new EngineApi(ENGINE_PORT);

interface FeedView {
  health: string;
  reason: string;
}
interface StateView {
  engine: { mode: string; flags: Record<string, boolean>; scene_path: { ready: boolean } };
  obs: { connection: string; currentScene: string | null };
  feed: FeedView;
  events: EngineEvent[];
}

let obs: ObsHandle;
let feed: SrtFeed;
let engine: TelemyProcess;
let program: ProgramLog;
const feedLog: Stamped<FeedView>[] = [];
let feedPoll: NodeJS.Timeout | null = null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const state = () => api.get<StateView>('/api/state');

/** When `/api/state` first showed the feed `health` after `since` (polled every 50 ms). */
function feedFirst(health: string, since: number): number | undefined {
  return feedLog.find((f) => f.at >= since && f.value.health === health)?.at;
}

function lastSwitch(events: EngineEvent[], scene: string): EngineEvent | undefined {
  return events.findLast((e) => e.kind === 'switch_result' && e.data.scene === scene);
}

/** Publishes a normal feed and waits until LIVE is on air (from whatever is on air now). */
async function liveAgain(): Promise<void> {
  const since = Date.now();
  feed.publish(2000);
  if ((await obs.currentScene()) !== 'LIVE') await program.onAir('LIVE', since, 20_000);
}

beforeAll(async () => {
  obs = await startObs({
    port: OBS_PORT,
    password: PASSWORD,
    scenes: ['BRB', 'LIVE', 'LOW', 'OFFLINE', 'PRIVACY'],
  });
  program = await ProgramLog.watch(obs);
  const dir = mkdtempSync(join(tmpdir(), 'telemy-failover-cli-'));
  feed = await startSrtFeed({ port: SRT_PORT, sinkPort: SINK_PORT, dir });
  const home = newTelemyHome();
  writeEngineConfig(
    home,
    { obsPort: OBS_PORT, enginePort: ENGINE_PORT },
    toml.cloudOff,
    toml.debugLog(home),
    '[failover]\nlow_bitrate_kbps = 800\noffline_bitrate_kbps = 200',
    AUTOMATION_WITHOUT_STREAM,
    toml.srtSource(feed.statsFile),
  );
  setSecrets(home, { obs_password: PASSWORD });
  ({ telemy: engine, token: api.token } = await launchTelemy('engine', { home }));
  await eventually(async () => (await state()).engine.scene_path.ready, 20_000);
  feedPoll = setInterval(() => {
    state()
      .then((s) => feedLog.push({ at: Date.now(), value: s.feed }))
      .catch(() => undefined);
  }, 50);
}, 90_000);

afterAll(async () => {
  if (feedPoll) clearInterval(feedPoll);
  await engine?.stop();
  await feed?.stop();
  await obs?.dispose();
});

describe('telemy engine failover on real OBS with a real SRT feed', () => {
  it('cold start: LIVE once the feed has been normal for the recovery window, not before', async () => {
    expect(await obs.currentScene()).toBe('BRB');
    const since = Date.now();
    feed.publish(2000);
    const liveAt = await program.onAir('LIVE', since, 30_000);
    const normalAt = feedFirst('normal', since);
    expect(normalAt).toBeDefined();
    // The first normal sample counts one interval; the rest must be waited out.
    expect(liveAt - (normalAt ?? liveAt)).toBeGreaterThanOrEqual(RECOVER_AFTER_MS - SAMPLE_MS - 100);
    const s = await state();
    expect(s.feed.health).toBe('normal');
    expect(lastSwitch(s.events, 'LIVE')?.data).toMatchObject({ result: 'ok', reason: 'auto_recover' });
  });

  it('publisher killed → BRB; restarted → LIVE only after the recovery window', async () => {
    const killedAt = Date.now();
    await feed.kill();
    const brbAt = await program.onAir('BRB', killedAt, 5000);
    expect(brbAt - killedAt).toBeLessThan(2000);
    const brb = lastSwitch((await state()).events, 'BRB');
    expect(brb?.data).toMatchObject({ rule: 'local_failover', result: 'ok', reason: 'auto_failover' });
    expect(brb?.request_id).toMatch(/\S/);

    const restartedAt = Date.now();
    feed.publish(2000);
    const liveAt = await program.onAir('LIVE', restartedAt, 30_000);
    const normalAt = feedFirst('normal', restartedAt) ?? liveAt;
    expect(liveAt - normalAt).toBeGreaterThanOrEqual(RECOVER_AFTER_MS - SAMPLE_MS - 100);
    expect(program.since(restartedAt)).toEqual(['LIVE']);
  });

  it('a bitrate under low_bitrate_kbps → LOW, and LIVE again when it recovers', async () => {
    const lowFrom = Date.now();
    feed.publish(400);
    await program.onAir('LOW', lowFrom, 20_000);
    expect((await state()).feed.reason).toMatch(/kb\/s ≤ 800/);
    const backFrom = Date.now();
    feed.publish(2000);
    await program.onAir('LIVE', backFrom, 20_000);
  });

  it('SRT connected with no payload → BRB', async () => {
    const accepted = feed.accepted();
    const from = Date.now();
    feed.connectSilent();
    // The listener takes one caller: if ffmpeg's hang-up is lost, SRT's 5 s peer-idle timeout frees it
    // (10 s ran out once in a full suite on this 2-core machine).
    await eventually(() => feed.accepted() > accepted, 20_000).catch((err) => {
      throw new Error(`${err}; srt-live-transmit said: ${feed.relayLog().slice(-600)}`);
    });
    await program.onAir('BRB', from, 5000);
    const s = await state();
    expect(s.feed.health).toBe('offline');
    // srt-live-transmit writes a stats line per N packets received: no payload, no line.
    expect(s.feed.reason).toMatch(/no data from phone|0 kb\/s/);
  });

  it('an unmanaged scene on air (PRIVACY) holds automation until a managed scene is back', async () => {
    await liveAgain();
    await obs.setScene('PRIVACY');
    await program.onAir('PRIVACY', 0, 2000);
    const from = Date.now();
    await feed.kill('SIGINT');
    await sleep(2500);
    const s = await state();
    expect(program.since(from).filter((scene) => scene !== 'PRIVACY')).toEqual([]);
    expect(s.events.filter((e) => e.kind === 'switch_result' && e.at_ms >= from)).toEqual([]);
    expect(await obs.currentScene()).toBe('PRIVACY');
    const held = s.events.findLast((e) => e.kind === 'guard_rejected');
    expect(held?.data.guard).toMatch(/unmanaged/);
    const back = Date.now();
    await obs.setScene('LIVE');
    await program.onAir('BRB', back, 5000);
  });

  it('manual_override on → no automatic switch; off → automation resumes', async () => {
    await liveAgain();
    const on = await api.post<{ flags: Record<string, boolean> }>('/api/settings', { manual_override: true });
    expect(on.flags.manual_override).toBe(true);
    // A switch decided just before the flag landed may still be confirming.
    await sleep(SAMPLE_MS);
    const from = Date.now();
    await feed.kill('SIGINT');
    await sleep(2500);
    expect(program.since(from)).toEqual([]);
    expect((await state()).feed.health).toBe('offline');
    const off = Date.now();
    await api.post('/api/settings', { manual_override: false });
    await program.onAir('BRB', off, 3000);
  });

  it('OBS restarted mid-stream → after the resync no wrong switch', async () => {
    await liveAgain();
    const from = Date.now();
    await obs.stop();
    // OBS saves its collection with the default scene on air; make it come back the way it left.
    const collection = JSON.parse(readFileSync(obs.sceneCollectionFile, 'utf8'));
    collection.current_scene = 'LIVE';
    collection.current_program_scene = 'LIVE';
    writeFileSync(obs.sceneCollectionFile, JSON.stringify(collection));
    await obs.restart();
    await program.watch(obs);
    await eventually(async () => {
      const s = await state();
      return s.obs.connection === 'connected' && s.engine.scene_path.ready;
    }, 20_000);
    await sleep(2500);
    expect(await obs.currentScene()).toBe('LIVE');
    const wrong = (await state()).events.filter(
      (e) => e.kind === 'switch_result' && e.at_ms >= from && e.data.scene !== 'LIVE',
    );
    expect(wrong).toEqual([]);
    expect(program.since(from).filter((s) => s !== 'LIVE')).toEqual([]);
  }, 60_000);

  it('POST /api/intent BRB switches at once and /api/diagnostics counts the switches', async () => {
    const before = await api.get<{ since_start: { switches: { ok: number } } }>('/api/diagnostics');
    const from = Date.now();
    const r = await api.post<{ ok: boolean; request_id: string | null; scene: string | null }>(
      '/api/intent',
      {
        intent: 'BRB',
      },
    );
    expect(r).toMatchObject({ ok: true, scene: 'BRB' });
    expect(r.request_id).toMatch(/\S/);
    await program.onAir('BRB', from, 2000);
    const diag = await api.get<{
      since_start: { switches: { ok: number; failed: number }; detection_to_switch_ms: { count: number } };
    }>('/api/diagnostics');
    expect(diag.since_start.switches.ok).toBeGreaterThan(before.since_start.switches.ok);
    expect(diag.since_start.switches.ok).toBeGreaterThanOrEqual(8);
    expect(diag.since_start.detection_to_switch_ms.count).toBeGreaterThanOrEqual(3);
  });
  it('a stats source writing garbage → offline with the reason in /api/state', async () => {
    await feed.kill('SIGINT');
    const writer = setInterval(() => feed.writeStats('<html>502 Bad Gateway</html>\n'), 100);
    try {
      const { value } = await eventually(async () => {
        const f = (await state()).feed;
        return /not JSON/.test(f.reason) ? f : null;
      }, 5000);
      expect(value).toEqual(
        expect.objectContaining({
          health: 'offline',
          reason: expect.stringContaining('srt-live-transmit stats'),
        }),
      );
    } finally {
      clearInterval(writer);
    }
    expect(await obs.currentScene()).toBe('BRB');
  });
});
