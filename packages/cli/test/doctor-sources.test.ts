import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SourceConfig } from '@telemy/engine/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../src/commands/doctor.js';
import { checkSources, type ObsInputs } from '../src/commands/doctor-sources.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../engine/test/sources/fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Stats endpoints answering with captured payloads of each server. */
const ROUTES: Record<string, () => [number, string]> = {
  '/stats': () => [200, fixture('sls-stats.json')],
  '/v3/paths/list': () => [200, fixture('mediamtx-paths.json')],
  '/stat': () => [200, fixture('nginx-rtmp-stat.xml')],
  '/html': () => [200, '<html>502 Bad Gateway</html>'],
};

/** node-media-server 4: the stats want the JWT its sign-in gives (after a slow password check). */
function nodeMediaServer(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.method === 'POST' && req.url === '/nms/api/v1/login') {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const ok = (JSON.parse(body) as { password?: string }).password === 'nms-pw';
      setTimeout(
        () => res.writeHead(ok ? 200 : 401).end(JSON.stringify(ok ? { data: { token: 'jwt' } } : {})),
        1500,
      );
    });
    return true;
  }
  if (req.url === '/nms/api/v1/streams') {
    const signed = req.headers.authorization === 'Bearer jwt';
    res.writeHead(signed ? 200 : 401).end(signed ? fixture('node-media-server-streams.json') : '{}');
    return true;
  }
  return false;
}

let server: http.Server;
let base = '';
let dir = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (nodeMediaServer(req, res)) return;
    const route = ROUTES[req.url ?? ''];
    const [status, body] = route ? route() : [404, 'not found'];
    res.writeHead(status).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'telemy-doctor-src-'));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function src(s: Partial<SourceConfig> & Pick<SourceConfig, 'name' | 'type'>): SourceConfig {
  return { priority: 100, enabled: true, ...s };
}

async function lines(sources: SourceConfig[], obs: ObsInputs | null = null): Promise<Check[]> {
  return checkSources(sources, { timeoutMs: 1000, obs, secret: (k) => (k === 'nms' ? 'nms-pw' : null) });
}

async function one(s: SourceConfig, obs: ObsInputs | null = null): Promise<Check> {
  const [first] = await lines([s], obs);
  if (!first) throw new Error('no line');
  return first;
}

describe('telemy doctor: every configured source answers and parses', () => {
  it('without sources says the feed is OBS output', async () => {
    expect(await lines([])).toEqual([
      expect.objectContaining({
        level: 'ok',
        what: 'sources',
        detail: expect.stringMatching(/OBS's own stream output/),
      }),
    ]);
  });

  it('an HTTP source that answers and parses shows the feed it read', async () => {
    expect(
      await one(src({ name: 'sls', type: 'sls', url: `${base}/stats`, publisher: 'live/feed1' })),
    ).toEqual({
      level: 'ok',
      what: 'source sls',
      detail: 'sls: answers and parses: feed connected, 4937 kb/s, RTT 38 ms',
    });
    expect(
      await one(
        src({ name: 'rtmp', type: 'nginx_rtmp', url: `${base}/stat`, publisher: 'live', stream: 'feed1' }),
      ),
    ).toMatchObject({ level: 'ok', detail: 'nginx_rtmp: answers and parses: feed connected, 2536 kb/s' });
    expect(
      await one(src({ name: 'mtx', type: 'mediamtx', url: `${base}/v3/paths/list`, stream: 'live/feed1' })),
    ).toMatchObject({
      level: 'ok',
      detail: 'mediamtx: answers and parses: feed connected, bitrate from the next reading',
    });
  });

  it('a source that signs in (node-media-server) is read once the slow sign-in is through', async () => {
    const nms = (password_key: string) =>
      src({
        name: 'nms',
        type: 'node_media_server',
        url: `${base}/nms`,
        publisher: 'live',
        stream: 'test',
        password_key,
      });
    expect(await one(nms('nms'))).toMatchObject({
      level: 'ok',
      detail: 'node_media_server: answers and parses: feed connected, 675 kb/s',
    });
    expect(await one(nms('unset'))).toMatchObject({
      level: 'warn',
      detail:
        'node_media_server: answers; no feed on it now: node-media-server: vault entry unset is not set',
    });
  });

  it('a server that answers without that stream, or with something else, warns with the reason', async () => {
    expect(
      await one(src({ name: 'sls', type: 'sls', url: `${base}/stats`, publisher: 'other' })),
    ).toMatchObject({
      level: 'warn',
      detail: 'sls: answers; no feed on it now: sls: publisher other not publishing',
    });
    expect(await one(src({ name: 'b', type: 'belabox', url: `${base}/html` }))).toMatchObject({
      level: 'warn',
      detail: expect.stringMatching(/^belabox: answers; no feed on it now: belabox stats: not JSON/),
    });
  });

  it('a wrong URL or a server that is down fails', async () => {
    expect(await one(src({ name: 'x', type: 'mediamtx', url: `${base}/nope` }))).toMatchObject({
      level: 'FAIL',
      detail: `mediamtx: stats endpoint answered HTTP 404 — check url (${base}/nope)`,
    });
    const down = await one(
      src({ name: 'x', type: 'sls', url: `http://127.0.0.1:${await closedPort()}/stats` }),
    );
    expect(down).toMatchObject({
      level: 'FAIL',
      detail: expect.stringMatching(/does not answer \(.*ECONNREFUSED/),
    });
  });

  it('srt-live-transmit: the last stats line parses; a missing file warns; a line that is not JSON fails', async () => {
    const good = path.join(dir, 'good.json');
    copyFileSync(path.join(FIXTURES, 'srt-live-transmit.jsonl'), good);
    expect(await one(src({ name: 'phone', type: 'srt_live_transmit', stats_file: good }))).toMatchObject({
      level: 'ok',
      detail: expect.stringMatching(
        /^srt_live_transmit: the last stats line parses: feed connected, \d+ kb\/s, RTT 0\.\d ms$/,
      ),
    });
    const missing = path.join(dir, 'missing.json');
    expect(await one(src({ name: 'phone', type: 'srt_live_transmit', stats_file: missing }))).toMatchObject({
      level: 'warn',
      detail: expect.stringContaining(`stats file ${missing} not found`),
    });
    const csv = path.join(dir, 'csv.txt');
    writeFileSync(csv, 'Time,SocketID,pktFlowWindow\n1,2,3\n');
    expect(await one(src({ name: 'phone', type: 'srt_live_transmit', stats_file: csv }))).toMatchObject({
      level: 'FAIL',
      detail: expect.stringMatching(/not JSON.*run srt-live-transmit with -pf:json$/),
    });
    const empty = path.join(dir, 'empty.json');
    writeFileSync(empty, '');
    expect(await one(src({ name: 'phone', type: 'srt_live_transmit', stats_file: empty }))).toMatchObject({
      level: 'ok',
      detail: expect.stringContaining('no line yet'),
    });
  });

  it('OBS media sources and pictures are checked against the inputs OBS has', async () => {
    const obs: ObsInputs = {
      states: new Map([
        ['Phone', 'playing'],
        ['Cam', 'stopped'],
        ['Colour', null],
      ]),
    };
    const media = (input: string) => src({ name: 'm', type: 'obs_media_source', input });
    expect(await one(media('Phone'), obs)).toMatchObject({
      level: 'ok',
      detail: "obs_media_source: 'Phone' is playing",
    });
    expect(await one(media('Cam'), obs)).toMatchObject({
      level: 'warn',
      detail: expect.stringContaining('not playing now (stopped)'),
    });
    expect(await one(media('Colour'), obs)).toMatchObject({
      level: 'FAIL',
      detail: expect.stringContaining('not a media source'),
    });
    expect(await one(media('Gone'), obs)).toMatchObject({
      level: 'FAIL',
      detail: expect.stringContaining("'Gone' is no source in OBS"),
    });
    expect(await one(media('Phone'), null)).toMatchObject({
      level: 'warn',
      detail: expect.stringContaining('without OBS'),
    });

    const withPicture = await lines(
      [src({ name: 'sls', type: 'sls', url: `${base}/stats`, input: 'Gone' })],
      obs,
    );
    expect(withPicture[1]).toMatchObject({
      level: 'warn',
      what: 'source sls',
      detail: expect.stringMatching(/^picture: 'Gone' is no source in OBS/),
    });
  });

  it('relay, OBS output and disabled entries are named without being asked', async () => {
    const checks = await lines([
      src({ name: 'relay', type: 'relay' }),
      src({ name: 'obs', type: 'obs_output' }),
      src({ name: 'off', type: 'sls', url: 'http://127.0.0.1:9/stats', enabled: false }),
    ]);
    expect(checks.map((c) => [c.level, c.detail])).toEqual([
      ['ok', "relay: the relay's telemetry, read while an IRL session runs (docs/irl.md)"],
      ['ok', "obs_output: OBS's own stream output, read from OBS while it streams"],
      ['ok', 'sls: disabled (enabled = false)'],
    ]);
  });
});
