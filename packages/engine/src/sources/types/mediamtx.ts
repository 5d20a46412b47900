import type { ParseOutcome } from '../feed-sample.js';
import { httpStatsSource, type SourceModule } from '../source-module.js';
import { isObject, num, parseJson } from '../stats-json.js';

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

export const source: SourceModule = httpStatsSource((body, config) =>
  parseMediamtxPaths(body, config.stream),
);
