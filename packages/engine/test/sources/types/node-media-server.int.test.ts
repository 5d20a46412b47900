import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../../src/config/index.js';
import type { FeedSample } from '../../../src/sources/feed-sample.js';
import { SOURCE_MODULES } from '../../../src/sources/registry.js';
import type { SourceContext, SourceRunner } from '../../../src/sources/source-module.js';
import { parseNodeMediaServerStreams } from '../../../src/sources/types/node-media-server.js';
import { Children, exited, waitFor } from '../children.js';

const captured = readFileSync(new URL('../fixtures/node-media-server-streams.json', import.meta.url), 'utf8');

describe('node-media-server streams parser (captured from 4.4.3)', () => {
  it('reads the publishing stream: inBps is bytes/s', () => {
    expect(parseNodeMediaServerStreams(captured, 'live', 'test')).toEqual({
      kind: 'sample',
      connected: true,
      bitrate_kbps: (84355 * 8) / 1000,
      rtt_ms: null,
      loss_pct: null,
      missing: [],
    });
    expect(parseNodeMediaServerStreams(captured)).toMatchObject({ kind: 'sample', connected: true });
  });

  it('another app or stream, a publisher that left, no publisher: offline with the reason', () => {
    expect(parseNodeMediaServerStreams(captured, 'other')).toEqual({
      kind: 'offline',
      reason: 'node-media-server: other not publishing',
    });
    const stream = JSON.parse(captured).data.streams[0];
    const as = (s: object) => JSON.stringify({ success: true, data: { streams: [{ ...stream, ...s }] } });
    expect(parseNodeMediaServerStreams(as({ status: 'reconnecting' }))).toMatchObject({
      kind: 'offline',
      reason: expect.stringContaining('live/test publisher left'),
    });
    expect(parseNodeMediaServerStreams(as({ status: 'idle', publisher: null }))).toMatchObject({
      kind: 'offline',
      reason: 'node-media-server: live/test has no publisher',
    });
    expect(parseNodeMediaServerStreams('{"success":false}')).toMatchObject({ kind: 'offline' });
  });

  it('without inBps the lifetime inBytes is handed on for a rate, and inBps is named missing', () => {
    const stream = JSON.parse(captured).data.streams[0];
    delete stream.inBps;
    const out = parseNodeMediaServerStreams(JSON.stringify({ data: { streams: [stream] } }));
    expect(out).toMatchObject({
      kind: 'sample',
      bitrate_kbps: null,
      bytes_total: 788177,
      missing: ['inBps'],
    });
  });
});

/** The real server from npm (a devDependency of the engine), in a child process of its own. */
const nmsBin = createRequire(import.meta.url).resolve('node-media-server/bin/app.js');
const children = new Children();
const dir = mkdtempSync(join(tmpdir(), 'telemy-nms-'));
let httpPort = 0;
let rtmpPort = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const run = (cmd: string, args: string[]) => children.run(cmd, args, dir);

/**
 * One `[[sources]]` entry of this type, run the way the engine runs it (every 500 ms, the default),
 * with a vault of `secrets`. `samples` leaves out the polls that came while a sign-in was under way
 * (unknown: the server checks a password with scrypt, which may outlast a poll); `signingIn` counts them.
 */
function start(config: Partial<SourceConfig>, secrets: Record<string, string>) {
  const samples: FeedSample[] = [];
  const signingIn: FeedSample[] = [];
  const ctx = {
    config: {
      name: 'nms',
      type: 'node_media_server',
      priority: 1,
      enabled: true,
      url: `http://127.0.0.1:${httpPort}`,
      ...config,
    },
    intervalMs: 500,
    now: Date.now,
    ingest: (s: FeedSample) =>
      (s.unknown && s.reason === 'signing in to node-media-server' ? signingIn : samples).push(s),
    secret: (key: string) => secrets[key] ?? null,
  } as unknown as SourceContext;
  const runner: SourceRunner = SOURCE_MODULES.node_media_server.runner(ctx);
  runner.start();
  return { samples, signingIn, runner };
}

beforeAll(async () => {
  httpPort = await freePort();
  rtmpPort = await freePort();
  const config = {
    bind: '127.0.0.1',
    store: { path: join(dir, 'data') },
    auth: {
      play: false,
      publish: false,
      secret: 'publish-url-secret',
      jwt: {
        secret: 'jwt-signing-secret-for-the-test',
        expiresIn: '1h',
        algorithm: 'HS256',
        users: [{ username: 'admin', password: 'correct horse', role: 'admin' }],
      },
    },
    rtmp: { port: rtmpPort },
    http: { port: httpPort },
    webadmin: { enable: false },
    record: { auto: false, path: join(dir, 'record') },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  run(process.execPath, [nmsBin, '-c', join(dir, 'config.json')]);
  const up = async () =>
    fetch(`http://127.0.0.1:${httpPort}/api/v1/health`).then(
      (r) => r.ok,
      () => false,
    );
  const until = Date.now() + 20_000;
  while (!(await up())) {
    if (Date.now() > until) throw new Error('node-media-server did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  await children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('node_media_server source against node-media-server 4 and an RTMP publisher', () => {
  it('signs in, reports the publisher and its bitrate, and the drop when the publisher stops', async () => {
    const { samples, runner } = start(
      { publisher: 'live', stream: 'test', password_key: 'nms' },
      {
        nms: 'correct horse',
      },
    );
    try {
      await waitFor('a sample before anyone publishes', 10_000, () => samples.length > 0);
      expect(samples[0]).toMatchObject({
        connected: false,
        reason: 'node-media-server: live/test not publishing',
      });

      const ffmpeg = run('ffmpeg', [
        ...['-nostdin', '-loglevel', 'error', '-re'],
        ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1M', '-c:a', 'aac'],
        ...['-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/test`],
      ]);
      // The server averages over 5 s: wait for a full window of the publisher.
      const live = await waitFor('the publisher at a steady rate', 30_000, () =>
        samples.find(
          (s, i) => s.connected && i > 0 && samples.slice(0, i).filter((p) => p.connected).length >= 10,
        ),
      );
      // testsrc at 320x240 compresses below the 1 Mb/s target; AAC adds ~130 kb/s.
      expect(live.bitrate_kbps).toBeGreaterThan(150);
      expect(live.bitrate_kbps).toBeLessThan(2500);
      expect(live).toMatchObject({ source: 'nms', rtt_ms: null, loss_pct: null });

      const before = samples.length;
      ffmpeg.kill('SIGTERM');
      await exited(ffmpeg);
      const drop = await waitFor('the drop', 15_000, () => samples.slice(before).find((s) => !s.connected));
      expect(drop.reason).toMatch(/live\/test (publisher left|has no publisher|not publishing)/);
      // A token per poll would have hit the server's 10 sign-ins a minute long ago.
      expect(samples.filter((s) => /sign-in/.test(s.reason ?? ''))).toEqual([]);
    } finally {
      runner.stop();
    }
  });

  it('a wrong password or a missing vault entry is offline with the reason, and not retried at once', async () => {
    const wrong = start({ password_key: 'nms' }, { nms: 'wrong' });
    const unset = start({ password_key: 'nms' }, {});
    try {
      await waitFor('six polls', 10_000, () => wrong.samples.length >= 6 && unset.samples.length >= 1);
      expect(new Set(wrong.samples.map((s) => s.reason))).toEqual(
        new Set(['node-media-server refused the sign-in of admin (HTTP 401)']),
      );
      expect(unset.samples[0]).toMatchObject({
        connected: false,
        reason: 'node-media-server: vault entry nms is not set',
      });
      // The right password still signs in: six polls made one attempt, where five lock the account.
      const right = start({ password_key: 'nms', stream: 'other' }, { nms: 'correct horse' });
      await waitFor('a poll', 10_000, () => right.samples.length > 0);
      right.runner.stop();
      expect(right.samples[0]?.reason).toBe('node-media-server: other not publishing');
    } finally {
      wrong.runner.stop();
      unset.runner.stop();
    }
  });
});
