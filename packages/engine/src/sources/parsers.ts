import type { ParseOutcome } from './feed-sample.js';
import type { SrtInterval } from './srt-rate-window.js';

/**
 * Pure parsers from a stats payload (text) to a `ParseOutcome`, one per supported format. A missing
 * or wrongly typed field is treated as absent and named in `missing`; a payload that cannot be
 * parsed at all is `offline` with the reason.
 */

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, what: string): Json | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: `${what}: not JSON (${text.trim().slice(0, 40) || 'empty'})` };
  }
  return isObject(v) ? v : { error: `${what}: not a JSON object` };
}

/** Reads `obj.a.b` as a finite number; records the path in `missing` otherwise. */
function num(obj: unknown, path: string, missing: string[]): number | null {
  let cur: unknown = obj;
  for (const key of path.split('.')) cur = isObject(cur) ? cur[key] : undefined;
  if (typeof cur === 'number' && Number.isFinite(cur)) return cur;
  missing.push(path);
  return null;
}

function lossPct(lost: number | null, received: number | null): number | null {
  if (lost === null || received === null) return null;
  const total = lost + received;
  return total > 0 ? (lost / total) * 100 : 0;
}

/**
 * One line of `srt-live-transmit -pf:json -statsout:FILE` (interval stats: counters reset per
 * report). `recv.mbitRate` is the receive rate over the interval, `link.rtt` the smoothed RTT in ms.
 * A line is only written while packets flow, so the line itself means "connected".
 */
export function parseSrtLiveTransmitLine(line: string): ParseOutcome {
  const o = parseJson(line, 'srt-live-transmit stats');
  if ('error' in o) return { kind: 'offline', reason: String(o.error) };
  const missing: string[] = [];
  const side = isObject(o.recv) ? 'recv' : 'send';
  const mbit = num(o, `${side}.mbitRate`, missing);
  const packets = num(o, `${side}.packets`, missing);
  const lost = num(o, `${side}.packetsLost`, missing);
  const interval = srtInterval(o, side, packets, lost);
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: mbit === null ? null : mbit * 1000,
    rtt_ms: num(o, 'link.rtt', missing),
    loss_pct: lossPct(lost, packets),
    missing,
    ...(interval === null ? {} : { srt_interval: interval }),
  };
}

/** The line's counters for the rate window; null when any is absent (the line's own rate is used). */
function srtInterval(o: Json, side: string, packets: number | null, lost: number | null): SrtInterval | null {
  const absent: string[] = [];
  const stream = num(o, 'sid', absent);
  const end_ms = num(o, 'time', absent);
  const bytes = num(o, `${side}.bytes`, absent);
  if (stream === null || end_ms === null || bytes === null || packets === null || lost === null) return null;
  return { stream, end_ms, bytes, packets, lost };
}

/** Finds the publisher entry in a `{ publishers: { key: stats } }` payload (SLS, BELABOX). */
function publisherEntry(o: Json, publisher: string | undefined, what: string): Json | { offline: string } {
  const pubs = o.publishers;
  if (!isObject(pubs)) return { offline: `${what}: no publishers object` };
  const keys = Object.keys(pubs);
  const key =
    publisher === undefined ? keys[0] : keys.find((k) => k === publisher || k.endsWith(`/${publisher}`));
  const entry = key === undefined ? undefined : pubs[key];
  if (!isObject(entry)) return { offline: `${what}: publisher ${publisher ?? '(any)'} not publishing` };
  return entry;
}

/** SRT Live Server (`/stats`): `publishers[<stream id>].bitrate` (kb/s) and `.rtt` (ms). */
export function parseSlsStats(text: string, publisher?: string): ParseOutcome {
  const o = parseJson(text, 'sls stats');
  if ('error' in o) return { kind: 'offline', reason: String(o.error) };
  const entry = publisherEntry(o, publisher, 'sls');
  if ('offline' in entry) return { kind: 'offline', reason: String(entry.offline) };
  const missing: string[] = [];
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: num(entry, 'bitrate', missing),
    rtt_ms: num(entry, 'rtt', missing),
    loss_pct: null,
    missing,
  };
}

/** BELABOX receiver stats: `publishers[<key>].bitrate` (kb/s) and `.rtt` (ms). */
export function parseBelaboxStats(text: string, publisher?: string): ParseOutcome {
  const o = parseJson(text, 'belabox stats');
  if ('error' in o) return { kind: 'offline', reason: String(o.error) };
  const entry = publisherEntry(o, publisher, 'belabox');
  if ('offline' in entry) return { kind: 'offline', reason: String(entry.offline) };
  const missing: string[] = [];
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: num(entry, 'bitrate', missing),
    rtt_ms: num(entry, 'rtt', missing),
    loss_pct: null,
    missing,
  };
}

/**
 * MediaMTX `/v3/paths/list`: the path named `stream` (or the first one). `ready` (`online` in newer
 * versions) says whether a publisher is on it; only the lifetime `bytesReceived` is reported, so
 * the poller turns it into a rate.
 */
export function parseMediamtxPaths(text: string, stream?: string): ParseOutcome {
  const o = parseJson(text, 'mediamtx paths');
  if ('error' in o) return { kind: 'offline', reason: String(o.error) };
  if (!Array.isArray(o.items)) return { kind: 'offline', reason: 'mediamtx: no items array' };
  const items = o.items.filter(isObject);
  const path = stream === undefined ? items[0] : items.find((i) => i.name === stream);
  if (!path) return { kind: 'offline', reason: `mediamtx: path ${stream ?? '(any)'} not found` };
  const missing: string[] = [];
  const ready =
    typeof path.online === 'boolean' ? path.online : typeof path.ready === 'boolean' ? path.ready : null;
  if (ready === null) missing.push('ready');
  if (ready === false)
    return { kind: 'offline', reason: `mediamtx: path ${String(path.name)} has no publisher` };
  const bytes = num(path, 'bytesReceived', missing);
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: null,
    rtt_ms: null,
    loss_pct: null,
    ...(bytes === null ? {} : { bytes_total: bytes }),
    missing,
  };
}

function xmlText(block: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(block);
  return m ? (m[1] ?? '').trim() : null;
}

/**
 * nginx-rtmp `/stat` XML: the `<stream>` named `stream` inside application `publisher` (either may
 * be omitted). `bw_in` is bits/s over the last measurement window; `<publishing/>` marks a publisher.
 */
export function parseNginxRtmpStat(text: string, publisher?: string, stream?: string): ParseOutcome {
  if (!/<rtmp>/.test(text)) return { kind: 'offline', reason: 'nginx-rtmp stat: not an <rtmp> document' };
  const apps = text.split('<application>').slice(1);
  for (const app of apps) {
    const appName = xmlText(app, 'name');
    if (publisher !== undefined && appName !== publisher) continue;
    for (const raw of app.split('<stream>').slice(1)) {
      const block = raw.split('</stream>')[0] ?? '';
      const name = xmlText(block, 'name');
      if (stream !== undefined && name !== stream) continue;
      // A stream's own <publishing/> sits outside its <client> elements.
      const own = block.replace(/<client>[\s\S]*?<\/client>/g, '');
      if (!/<publishing\s*\/>/.test(own))
        return { kind: 'offline', reason: `nginx-rtmp: ${name ?? 'stream'} not publishing` };
      const missing: string[] = [];
      const bw = Number(xmlText(block, 'bw_in'));
      const hasBw = xmlText(block, 'bw_in') !== null && Number.isFinite(bw);
      if (!hasBw) missing.push('bw_in');
      return {
        kind: 'sample',
        connected: true,
        bitrate_kbps: hasBw ? bw / 1000 : null,
        rtt_ms: null,
        loss_pct: null,
        missing,
      };
    }
  }
  const which = [publisher, stream].filter(Boolean).join('/') || 'any stream';
  return { kind: 'offline', reason: `nginx-rtmp: ${which} not found` };
}

/**
 * OBS `GetMediaInputStatus` response data. Only PLAYING shows a live picture; OPENING/BUFFERING
 * (a media source reconnecting) shows a frozen or black frame, so it counts as offline like the rest.
 */
export function parseObsMediaStatus(data: unknown): ParseOutcome {
  if (!isObject(data) || typeof data.mediaState !== 'string') {
    return { kind: 'offline', reason: 'obs media source: no mediaState' };
  }
  const state = data.mediaState.replace(/^OBS_MEDIA_STATE_/, '').toLowerCase();
  if (state === 'playing')
    return { kind: 'sample', connected: true, bitrate_kbps: null, rtt_ms: null, loss_pct: null, missing: [] };
  return { kind: 'offline', reason: `obs media source ${state}` };
}

/** OBS stream output as the OBS metrics hub samples it (instantaneous bitrate from byte deltas). */
export interface ObsOutputReading {
  active: boolean;
  bitrate_kbps: number | null;
  reconnecting: boolean;
  congestion: number | null;
}

/**
 * OBS's own stream output, the feed when no ingest source is configured. Not streaming is no
 * failure (there is nothing on air to protect) and the first reading of a run has no rate yet:
 * both are unknown. Its bitrate is shown but not held against the thresholds: it follows the
 * encoder and the scene, dips on a busy encoding PC while the stream is fine, and no scene switch
 * repairs OBS's own upload. It is offline when OBS says the output is reconnecting to the server, or
 * sent nothing at all over the rate window.
 */
export function parseObsOutput(r: ObsOutputReading): ParseOutcome {
  if (!r.active) return { kind: 'unknown', reason: 'OBS is not streaming' };
  if (r.reconnecting) return { kind: 'offline', reason: 'OBS output reconnecting' };
  if (r.bitrate_kbps === null) return { kind: 'unknown', reason: 'measuring the OBS output bitrate' };
  if (r.bitrate_kbps === 0) return { kind: 'offline', reason: 'OBS sent nothing for 2 s' };
  const congested = r.congestion !== null && r.congestion >= 0.5;
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: r.bitrate_kbps,
    rtt_ms: null,
    loss_pct: null,
    missing: [],
    judged: false,
    ...(congested ? { reason: `congestion ${Math.round((r.congestion ?? 0) * 100)} %` } : {}),
  };
}
