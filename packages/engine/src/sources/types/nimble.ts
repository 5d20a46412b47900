import { createHash, randomInt } from 'node:crypto';
import { errorText } from '@telemy/protocol';
import type { ParseOutcome } from '../feed-sample.js';
import type { StatsRequest } from '../http-poller.js';
import { httpStatsSource, type SourceContext, type SourceModule } from '../source-module.js';
import { isObject, type Json, num } from '../stats-json.js';

/** A number Nimble may send as a string (`"bandwidth": "3145728"`). */
function numeric(v: unknown): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/**
 * `GET /manage/rtmp_status`: `[{ app, streams: [{ strm, bandwidth (bits/s), publish_time,
 * resolution, vcodec, acodec }] }]`, one entry per application with the streams published to it.
 * `publisher` picks the application, `stream` the stream (`strm`); a stream absent is not published.
 */
function parseRtmpStatus(apps: unknown[], app?: string, stream?: string): ParseOutcome {
  for (const a of apps.filter(isObject)) {
    if (app !== undefined && a.app !== app) continue;
    const streams = Array.isArray(a.streams) ? a.streams.filter(isObject) : [];
    const s = streams.find((x) => stream === undefined || x.strm === stream);
    if (!s) continue;
    const bandwidth = numeric(s.bandwidth);
    return {
      kind: 'sample',
      connected: true,
      bitrate_kbps: bandwidth === null ? null : bandwidth / 1000,
      rtt_ms: null,
      loss_pct: null,
      missing: bandwidth === null ? ['bandwidth'] : [],
    };
  }
  const which = [app, stream].filter((p) => p !== undefined).join('/') || 'any stream';
  return { kind: 'offline', reason: `nimble: RTMP ${which} not published` };
}

/**
 * `GET /manage/srt_receiver_stats`: `{ SrtReceivers: [{ id, state, stats }] }`, one entry per SRT
 * listener or caller that receives, `stats` in libsrt's shape (`link.rtt` ms, `recv.mbitRate`
 * Mb/s) while a sender is connected. `stream` picks the receiver by `id` (`0.0.0.0:2020`).
 */
function parseSrtReceivers(o: Json, id?: string): ParseOutcome {
  if (!Array.isArray(o.SrtReceivers)) return { kind: 'offline', reason: 'nimble: no SrtReceivers array' };
  const r = o.SrtReceivers.filter(isObject).find((x) => id === undefined || x.id === id);
  if (!r) return { kind: 'offline', reason: `nimble: SRT receiver ${id ?? '(any)'} not found` };
  const name = String(r.id ?? 'receiver');
  const state = typeof r.state === 'string' ? r.state.toLowerCase() : null;
  if (!isObject(r.stats) || (state !== null && state !== 'connected'))
    return { kind: 'offline', reason: `nimble: SRT receiver ${name} ${state ?? 'has no sender'}` };
  const missing: string[] = [];
  const mbit = num(r.stats, 'recv.mbitRate', missing);
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: mbit === null ? null : mbit * 1000,
    rtt_ms: num(r.stats, 'link.rtt', missing),
    loss_pct: null,
    missing,
  };
}

/** Nimble Streamer's native API: the RTMP publish status or the SRT receiver stats, told by their shape. */
export function parseNimbleStatus(text: string, publisher?: string, stream?: string): ParseOutcome {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: 'offline', reason: `nimble status: not JSON (${text.trim().slice(0, 40) || 'empty'})` };
  }
  if (Array.isArray(v)) return parseRtmpStatus(v, publisher, stream);
  if (isObject(v)) return parseSrtReceivers(v, stream);
  return { kind: 'offline', reason: 'nimble status: neither an application list nor SrtReceivers' };
}

/**
 * With `management_token` set in nimble.conf, every request carries `salt` (a random number) and
 * `hash` = base64(md5(`<salt>/<token>`)); the token is the vault entry `password_key`.
 */
export function nimbleSignedUrl(url: string, token: string, salt: number): string {
  const u = new URL(url);
  u.searchParams.set('salt', String(salt));
  u.searchParams.set('hash', createHash('md5').update(`${salt}/${token}`).digest('base64'));
  return u.toString();
}

function signedRequest(ctx: SourceContext): StatsRequest {
  const url = ctx.config.url ?? '';
  const key = ctx.config.password_key;
  return async (signal) => {
    if (key === undefined) return fetch(url, { signal });
    let token: string | null;
    try {
      token = ctx.secret(key);
    } catch (err) {
      return { kind: 'offline', reason: `nimble: vault entry ${key}: ${errorText(err)}` };
    }
    if (token === null) return { kind: 'offline', reason: `nimble: vault entry ${key} is not set` };
    return fetch(nimbleSignedUrl(url, token, randomInt(1, 1_000_000)), { signal });
  };
}

/** Nimble Streamer's native API (`url`: its `/manage/rtmp_status` or `/manage/srt_receiver_stats`). */
export const source: SourceModule = httpStatsSource(
  (body, config) => parseNimbleStatus(body, config.publisher, config.stream),
  signedRequest,
);
