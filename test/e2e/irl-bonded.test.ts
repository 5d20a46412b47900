import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSrtlaSender, type TestSrtlaSender } from '../../packages/relay/test/srtla-sender.js';
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
 * A bonded IRL stream end to end: real headless OBS streaming out over SRT, the real `telemy engine`
 * with its embedded control plane and a local relay, and a phone that bonds three modems with SRTLA
 * (a test sender written from the wire format, on the source addresses 127.0.0.1-3) carrying an
 * ffmpeg SRT stream. Losing modems is no failover while the group still delivers; losing the last
 * one is.
 */

const OBS_PORT = 44790;
const ENGINE_PORT = 7239;
const OUT_PORT = 47790;
const PASSWORD = 'irl-bonded-pw';
const MODEMS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const base = `http://127.0.0.1:${ENGINE_PORT}`;

interface StateView {
  obs: { connection: string };
  cloud: {
    telemetry: { connected: boolean };
    links: Array<{ protocol: string; source_ip: string | null; status: string; bitrate_kbps: number }>;
  } | null;
}
interface RelayView {
  session: { status: string; ingest: { srt_url: string | null; srtla_url?: string | null } } | null;
}

let obs: ObsHandle;
let out: SrtListener;
let engine: TelemyProcess | null = null;
let sender: TestSrtlaSender | null = null;
let phone: SrtPublisher | null = null;
let token = '';
const program: Array<{ at: number; scene: string }> = [];

async function api<T>(path: string, method: 'GET' | 'POST' = 'GET'): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { origin: base } : {}) },
  });
  return (await r.json()) as T;
}

const state = () => api<StateView>('/api/state');
const bondedLinks = async () => ((await state()).cloud?.links ?? []).filter((l) => l.protocol === 'srtla');

beforeAll(async () => {
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['LIVE', 'BRB', 'OFFLINE'] });
  const client = await obs.client();
  client.on('CurrentProgramSceneChanged', (e) => program.push({ at: Date.now(), scene: e.sceneName }));
  const home = newTelemyHome();
  expect(telemySync(['vault', 'set', 'obs_password'], { home, input: `${PASSWORD}\n` }).status).toBe(0);
  out = await startSrtListener({ port: OUT_PORT });
  await obs.setSrtStreamTarget(out.url);
  await obs.setScene('LIVE');
  await obs.startStream();
  writeConfig(
    home,
    [
      `[obs]\nport = ${OBS_PORT}`,
      `[server]\nport = ${ENGINE_PORT}`,
      '[cloud]\nmode = "embedded"',
      `[log]\nlevel = "debug"\nfile = "${join(home, 'engine.log')}"`,
      '[scenes]\nlive = "LIVE"\nlow = ""\nbrb = "BRB"\noffline = "OFFLINE"',
      '[[sources]]\nname = "relay"\ntype = "relay"',
    ].join('\n'),
  );
  engine = startTelemy(['engine', '--config', join(home, 'config.toml')], { home, env: QUICK_RELAY_ENV });
  token = (await engine.waitFor(/dashboard: \S+\?token=(\S+)/, 60_000))[1] as string;
  await eventually(async () => (await state()).obs.connection === 'connected', 30_000);
}, 180_000);

afterAll(async () => {
  await phone?.stop();
  await sender?.close();
  await engine?.stop();
  await out?.stop();
  await obs?.dispose();
});

describe('a bonded phone through the embedded relay', () => {
  it('three modems: LIVE and every link listed; two lost: still LIVE; the last lost: BRB', async () => {
    await api('/api/relay/start', 'POST');
    const { value: session } = await eventually(async () => {
      const r = await api<RelayView>('/api/relay?reveal=true');
      return r.session?.status === 'active' ? r.session : null;
    }, 120_000);
    const srtla = new URL((session.ingest.srtla_url ?? '').replace(/^srtla:/, 'http:'));
    const passphrase = srtla.searchParams.get('passphrase');
    expect(passphrase).toBeTruthy();
    expect(session.ingest.srt_url).toContain(`passphrase=${passphrase}`);

    sender = await startTestSrtlaSender({
      sources: MODEMS,
      receiver: { host: srtla.hostname, port: Number(srtla.port) },
    });
    await eventually(() => sender?.links().every((l) => l.up) || null, 10_000);
    const published = Date.now();
    phone = startFfmpegPublisher({
      url: `srt://127.0.0.1:${sender.port}?passphrase=${passphrase}&latency=200000`,
      bitrateKbps: 1500,
      size: '320x180',
    });
    await eventually(() => program.find((p) => p.at >= published && p.scene === 'LIVE') ?? null, 60_000);
    await eventually(async () => {
      const links = await bondedLinks();
      const sources = links.filter((l) => l.bitrate_kbps > 0).map((l) => l.source_ip);
      return sources.length === 3 ? sources : null;
    }, 20_000).then(({ value }) => expect([...value].sort()).toEqual(MODEMS));
    for (const l of sender.links()) expect(l.srt, `${l.source} carried the stream`).toBeGreaterThan(50);

    // Two modems lose signal. The relay drops their connections after its timeout; the last one
    // carries the whole stream, and nothing is switched.
    const lost = Date.now();
    await sender.drop('127.0.0.2');
    await sender.drop('127.0.0.3');
    const { value: left } = await eventually(async () => {
      const links = await bondedLinks();
      return links.length === 1 ? links : null;
    }, 30_000);
    expect(left[0]?.source_ip).toBe('127.0.0.1');
    await eventually(async () => ((await bondedLinks())[0]?.bitrate_kbps ?? 0) > 500 || null, 15_000);
    expect(program.filter((p) => p.at >= lost)).toEqual([]);
    expect(await obs.currentScene()).toBe('LIVE');

    // The last modem goes: the stream is gone, BRB goes on air.
    const gone = Date.now();
    await sender.drop('127.0.0.1');
    await eventually(() => program.find((p) => p.at >= gone && p.scene === 'BRB') ?? null, 30_000);
    expect((await (await obs.client()).call('GetStreamStatus')).outputActive).toBe(true);

    // A relay outlives the engine by design (a restart must not drop the phone): stop the session.
    await api('/api/relay/stop', 'POST');
    await eventually(async () => (await api<RelayView>('/api/relay')).session === null || null, 30_000);
  });
});
