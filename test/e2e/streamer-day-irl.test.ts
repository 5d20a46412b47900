import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObsHandle, startObs } from '../support/obs-harness.js';
import {
  type SrtListener,
  type SrtPublisher,
  startFfmpegPublisher,
  startSrtListener,
} from '../support/srt.js';
import {
  eventually,
  newTelemyHome,
  QUICK_RELAY_ENV,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../support/telemy-process.js';

/**
 * The IRL part of a streamer's day (see streamer-day.test.ts): real headless OBS streaming out over
 * SRT, the real `telemy engine` with its embedded control plane (a child process) and local relays,
 * ffmpeg as the phone publishing to the relay, OBS's "Telemy Relay" media source pulling from it.
 */

const OBS_PORT = 44730;
const ENGINE_PORT = 7235;
const OUT_PORT = 47730;
const PASSWORD = 'streamer-day-irl-pw';
const RELAY_SOURCE = 'Telemy Relay';
const base = `http://127.0.0.1:${ENGINE_PORT}`;

interface StateView {
  status: { text: string };
  obs: { connection: string };
  feed: { classification: string };
  cloud: {
    session: { session_id: string; status: string } | null;
    telemetry: { connected: boolean; ingest_active: boolean | null };
  } | null;
}
interface RelayView {
  session: { session_id: string; status: string; ingest: { srt_url: string | null } } | null;
}

let obs: ObsHandle;
let out: SrtListener;
let engine: TelemyProcess | null = null;
let phone: SrtPublisher | null = null;
let home: string;
let token = '';
const program: Array<{ at: number; scene: string }> = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api<T>(path: string, method: 'GET' | 'POST' = 'GET'): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { origin: base } : {}) },
  });
  return (await r.json()) as T;
}

const state = () => api<StateView>('/api/state');

async function startEngine(toml: string): Promise<void> {
  await engine?.stop();
  writeConfig(
    home,
    [
      `[obs]\nport = ${OBS_PORT}`,
      `[server]\nport = ${ENGINE_PORT}`,
      '[cloud]\nmode = "embedded"',
      `[log]\nlevel = "debug"\nfile = "${join(home, 'engine.log')}"`,
      '[scenes]\nlive = "LIVE"\nlow = ""\nbrb = "BRB"\noffline = "OFFLINE"',
      toml,
    ].join('\n'),
  );
  engine = startTelemy(['engine', '--config', join(home, 'config.toml')], { home, env: QUICK_RELAY_ENV });
  token = (await engine.waitFor(/dashboard: \S+\?token=(\S+)/, 60_000))[1] as string;
  await eventually(async () => (await state()).obs.connection === 'connected', 30_000);
}

/** Starts the relay session through the engine (as `telemy cloud start` does) and waits until it serves. */
async function goIrl(): Promise<string> {
  await api('/api/relay/start', 'POST');
  const { value } = await eventually(async () => {
    const r = await api<RelayView>('/api/relay?reveal=true');
    return r.session?.status === 'active' ? r.session : null;
  }, 120_000);
  return value.ingest.srt_url as string;
}

async function stopIrl(): Promise<void> {
  await api('/api/relay/stop', 'POST');
  await eventually(async () => (await state()).cloud?.session === null, 30_000);
}

beforeAll(async () => {
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'BRB', 'OFFLINE'] });
  const client = await obs.client();
  client.on('CurrentProgramSceneChanged', (e) => program.push({ at: Date.now(), scene: e.sceneName }));
  home = newTelemyHome();
  expect(telemySync(['vault', 'set', 'obs_password'], { home, input: `${PASSWORD}\n` }).status).toBe(0);
  out = await startSrtListener({ port: OUT_PORT });
  await obs.setSrtStreamTarget(out.url);
  await obs.setScene('LIVE');
  await obs.startStream();
}, 120_000);

afterAll(async () => {
  await phone?.stop();
  await engine?.stop();
  await out?.stop();
  await obs?.dispose();
});

describe("a streamer's day, IRL", () => {
  it('3. going IRL while live: the control plane starts beside the engine, nothing is switched meanwhile', async () => {
    // The default feed (OBS's own output), healthy: LIVE on air.
    await startEngine('');
    await eventually(async () => {
      const s = await state();
      return s.feed.classification === 'normal' && (await obs.currentScene()) === 'LIVE';
    }, 20_000);
    const requested = Date.now();
    // The old engine opened PGlite on its own event loop here, froze for seconds, then read its feed
    // as stale and put BRB on air (and with an auto-stop configured, stopped the stream).
    await goIrl();
    type Events = { events: Array<{ kind?: string; at_ms: number; data?: Record<string, unknown> }> };
    // The session is active at the relay's first health report; IRL_ACTIVE follows once the
    // engine's telemetry socket to the relay is up.
    const { value: events } = await eventually(async () => {
      const list = (await api<Events>('/api/state')).events;
      const found = list.some(
        (e) => e.kind === 'mode_transition' && e.data?.to === 'IRL_ACTIVE' && e.at_ms >= requested,
      );
      return found ? list : null;
    }, 30_000);
    const active = events.find(
      (e) => e.kind === 'mode_transition' && e.data?.to === 'IRL_ACTIVE' && e.at_ms >= requested,
    );
    // Until the relay's telemetry is up, the studio feed is what automation judges: nothing to switch.
    // (From then on the phone's feed counts, and no phone publishes yet: BRB is right.)
    expect(program.filter((p) => p.at >= requested && p.at < (active?.at_ms ?? 0))).toEqual([]);
    expect(events.filter((e) => e.kind === 'engine_stalled' && e.at_ms >= requested)).toEqual([]);
    expect((await (await obs.client()).call('GetStreamStatus')).outputActive).toBe(true);
    await stopIrl();
  });

  it('9. LIVE only once the relay reported the ingest and the media source shows new frames', async () => {
    await startEngine('[[sources]]\nname = "relay"\ntype = "relay"');
    // No session: the relay feed is offline once its start-up window is over.
    await eventually(async () => (await obs.currentScene()) === 'BRB', 20_000);
    const irlAt = Date.now();
    const srtUrl = await goIrl();
    await eventually(async () => (await state()).cloud?.telemetry.connected === true, 30_000);
    // Telemetry up, no phone: the old engine put LIVE on air here, for 50–360 ms, before the relay
    // reported any ingest.
    await sleep(5000);
    expect(program.filter((p) => p.at >= irlAt && p.scene === 'LIVE')).toEqual([]);

    // The phone publishes; watch OBS's media source for its first picture (a thumbnail that changes).
    const client = await obs.client();
    let firstFrames: number | null = null;
    let lastShot: string | null = null;
    const watch = setInterval(() => {
      client
        .call('GetSourceScreenshot', { sourceName: RELAY_SOURCE, imageFormat: 'png', imageWidth: 32 })
        .then((r) => {
          if (firstFrames === null && lastShot !== null && r.imageData !== lastShot) firstFrames = Date.now();
          lastShot = r.imageData;
        })
        .catch(() => {
          lastShot = null;
        });
    }, 100);
    const published = Date.now();
    phone = startFfmpegPublisher({ url: srtUrl, bitrateKbps: 1500, size: '320x180' });
    try {
      const live = (
        await eventually(() => program.find((p) => p.at >= published && p.scene === 'LIVE'), 60_000)
      ).value;
      expect(firstFrames).not.toBeNull();
      // Not before OBS showed the phone's picture (the old engine: about 1 s before it). This watch
      // sees the picture at most 100 ms after OBS rendered it.
      expect(live.at).toBeGreaterThanOrEqual((firstFrames ?? Number.POSITIVE_INFINITY) - 150);
    } finally {
      clearInterval(watch);
    }
    await phone.stop();
    phone = null;
    await stopIrl();
  });
});
