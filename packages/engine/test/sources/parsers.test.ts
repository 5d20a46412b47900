import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyFeed, EMPTY_HISTORY, type FeedThresholds } from '../../src/sources/classify.js';
import { toSample } from '../../src/sources/feed-sample.js';
import { parsePublisherStats } from '../../src/sources/publisher-stats.js';
import { parseSrtLiveTransmitLine } from '../../src/sources/srt-stats-line.js';
import { parseMediamtxPaths } from '../../src/sources/types/mediamtx.js';
import { parseNginxRtmpStat } from '../../src/sources/types/nginx-rtmp.js';
import { parseObsMediaStatus } from '../../src/sources/types/obs-media-source.js';
import { parseObsOutput } from '../../src/sources/types/obs-output.js';

const T: FeedThresholds = {
  low_bitrate_kbps: 800,
  offline_bitrate_kbps: 200,
  low_rtt_ms: 2500,
  offline_rtt_ms: 0,
  offline_after_ms: 500,
  sample_interval_ms: 500,
};
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('srt-live-transmit JSON stats', () => {
  const lines = fixture('srt-live-transmit.jsonl').trim().split('\n');

  it('reads the receive rate, RTT and loss of real lines', () => {
    for (const line of lines) {
      const raw = JSON.parse(line);
      const out = parseSrtLiveTransmitLine(line);
      expect(out).toMatchObject({ kind: 'sample', connected: true, missing: [] });
      if (out.kind !== 'sample') throw new Error('unreachable');
      expect(out.bitrate_kbps).toBeCloseTo(raw.recv.mbitRate * 1000, 6);
      expect(out.rtt_ms).toBe(raw.link.rtt);
      expect(out.loss_pct).toBe(0);
    }
  });

  it('computes loss from lost and received packets', () => {
    const raw = JSON.parse(lines[0] ?? '{}');
    raw.recv.packets = 90;
    raw.recv.packetsLost = 10;
    const out = parseSrtLiveTransmitLine(JSON.stringify(raw));
    expect(out.kind === 'sample' && out.loss_pct).toBe(10);
  });

  it('treats missing and wrongly typed fields as absent and names them', () => {
    const raw = JSON.parse(lines[0] ?? '{}');
    delete raw.link;
    raw.recv.mbitRate = 'fast';
    const out = parseSrtLiveTransmitLine(JSON.stringify(raw));
    expect(out).toMatchObject({ kind: 'sample', bitrate_kbps: null, rtt_ms: null });
    expect(out.kind === 'sample' && out.missing).toEqual(['recv.mbitRate', 'link.rtt']);
  });

  it('an unparseable line is offline with the reason', () => {
    expect(parseSrtLiveTransmitLine('{"sid":12,"time"')).toEqual({
      kind: 'offline',
      reason: expect.stringMatching(/not JSON/),
    });
    expect(parseSrtLiveTransmitLine('[1,2]')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/not a JSON object/),
    });
  });
});

describe('SRT Live Server and BELABOX stats', () => {
  it('reads the publisher bitrate and RTT', () => {
    expect(parsePublisherStats(fixture('sls-stats.json'), 'sls', 'live/feed1')).toMatchObject({
      kind: 'sample',
      bitrate_kbps: 4937,
      rtt_ms: 38.4,
      missing: [],
    });
    expect(parsePublisherStats(fixture('sls-stats.json'), 'sls')).toMatchObject({ bitrate_kbps: 4937 });
    expect(parsePublisherStats(fixture('belabox-stats.json'), 'belabox', 'feed1')).toMatchObject({
      kind: 'sample',
      bitrate_kbps: 6012,
      rtt_ms: 72.5,
    });
  });

  it('no publisher is offline; a missing field is absent', () => {
    expect(parsePublisherStats(fixture('sls-stats-empty.json'), 'sls')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/not publishing/),
    });
    expect(parsePublisherStats(fixture('sls-stats.json'), 'sls', 'live/other')).toMatchObject({
      kind: 'offline',
    });
    const raw = JSON.parse(fixture('belabox-stats.json'));
    delete raw.publishers['publish/live/feed1'].rtt;
    raw.publishers['publish/live/feed1'].bitrate = null;
    expect(parsePublisherStats(JSON.stringify(raw), 'belabox')).toMatchObject({
      kind: 'sample',
      bitrate_kbps: null,
      rtt_ms: null,
      missing: ['bitrate', 'rtt'],
    });
    expect(parsePublisherStats('<html>502 Bad Gateway</html>', 'belabox')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/not JSON/),
    });
    expect(parsePublisherStats('{"status":"ok"}', 'sls')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/no publishers/),
    });
  });
});

describe('MediaMTX paths', () => {
  it('reports the byte counter of a ready path and offline for a path without publisher', () => {
    expect(parseMediamtxPaths(fixture('mediamtx-paths.json'), 'live/feed1')).toMatchObject({
      kind: 'sample',
      connected: true,
      bytes_total: 52428800,
      missing: [],
    });
    expect(parseMediamtxPaths(fixture('mediamtx-paths.json'), 'live/backup')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/no publisher/),
    });
    expect(parseMediamtxPaths(fixture('mediamtx-paths.json'), 'live/none')).toMatchObject({
      kind: 'offline',
    });
  });

  it('accepts the newer "online" flag and tolerates a missing counter', () => {
    const raw = JSON.parse(fixture('mediamtx-paths.json'));
    const item = raw.items[0];
    delete item.ready;
    item.online = true;
    delete item.bytesReceived;
    const out = parseMediamtxPaths(JSON.stringify(raw));
    expect(out).toMatchObject({ kind: 'sample', missing: ['bytesReceived'] });
    expect(out.kind === 'sample' && out.bytes_total).toBeUndefined();
    expect(parseMediamtxPaths('{"items":"x"}')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/no items/),
    });
  });
});

describe('nginx-rtmp /stat', () => {
  it('reads bw_in of a publishing stream and ignores client-level flags', () => {
    expect(parseNginxRtmpStat(fixture('nginx-rtmp-stat.xml'), 'live', 'feed1')).toMatchObject({
      kind: 'sample',
      bitrate_kbps: 2536.104,
      missing: [],
    });
    expect(parseNginxRtmpStat(fixture('nginx-rtmp-stat.xml'), 'live', 'idle')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/not publishing/),
    });
    expect(parseNginxRtmpStat(fixture('nginx-rtmp-stat.xml'), 'other')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/not found/),
    });
  });

  it('tolerates a missing bw_in and rejects non-stat documents', () => {
    const xml = fixture('nginx-rtmp-stat.xml').replace(
      '<bw_in>2536104</bw_in>\n<bytes_in>570368000',
      '<bytes_in>570368000',
    );
    expect(parseNginxRtmpStat(xml, 'live', 'feed1')).toMatchObject({
      kind: 'sample',
      bitrate_kbps: null,
      missing: ['bw_in'],
    });
    expect(parseNginxRtmpStat('{"json":true}')).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/not an <rtmp>/),
    });
  });
});

describe('OBS sources', () => {
  it('media source: only PLAYING is live', () => {
    expect(parseObsMediaStatus(JSON.parse(fixture('obs-media-status-playing.json')))).toMatchObject({
      kind: 'sample',
      connected: true,
    });
    expect(parseObsMediaStatus(JSON.parse(fixture('obs-media-status-ended.json')))).toEqual({
      kind: 'offline',
      reason: 'obs media source ended',
    });
    expect(parseObsMediaStatus({ mediaState: 'OBS_MEDIA_STATE_BUFFERING' })).toMatchObject({
      kind: 'offline',
    });
    expect(parseObsMediaStatus({ mediaState: 3 })).toMatchObject({
      kind: 'offline',
      reason: expect.stringMatching(/no mediaState/),
    });
  });

  it('stream output: not streaming or no rate yet is unknown, reconnecting is offline; congestion is noted', () => {
    expect(
      parseObsOutput({ active: true, bitrate_kbps: 2500, reconnecting: false, congestion: 0.1 }),
    ).toMatchObject({
      kind: 'sample',
      bitrate_kbps: 2500,
      missing: [],
    });
    expect(parseObsOutput({ active: false, bitrate_kbps: 0, reconnecting: false, congestion: null })).toEqual(
      { kind: 'unknown', reason: 'OBS is not streaming' },
    );
    expect(
      parseObsOutput({ active: true, bitrate_kbps: null, reconnecting: false, congestion: null }),
    ).toEqual({ kind: 'unknown', reason: 'measuring the OBS output bitrate' });
    expect(
      parseObsOutput({ active: true, bitrate_kbps: 0, reconnecting: true, congestion: null }),
    ).toMatchObject({
      kind: 'offline',
      reason: 'OBS output reconnecting',
    });
    expect(
      parseObsOutput({ active: true, bitrate_kbps: 900, reconnecting: false, congestion: 0.8 }),
    ).toMatchObject({
      reason: 'congestion 80 %',
    });
    expect(parseObsOutput({ active: true, bitrate_kbps: 0, reconnecting: false, congestion: null })).toEqual({
      kind: 'offline',
      reason: 'OBS sent nothing for 2 s',
    });
  });

  it("stream output: a dip of OBS's own upload is shown, not judged (a busy encoder is no dead feed)", () => {
    const outcome = parseObsOutput({
      active: true,
      bitrate_kbps: 150,
      reconnecting: false,
      congestion: null,
    });
    expect(outcome).toMatchObject({ kind: 'sample', bitrate_kbps: 150, judged: false });
    const c = classifyFeed(toSample(outcome, 'obs', 1000), T, EMPTY_HISTORY, 1000);
    expect(c).toMatchObject({ health: 'normal', reason: '150 kb/s' });
  });
});
