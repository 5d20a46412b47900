import type { ParseOutcome } from './feed-sample.js';
import { httpStatsSource, type SourceModule } from './source-module.js';
import { isObject, type Json, num, parseJson } from './stats-json.js';

/**
 * SRT Live Server (`/stats`) and the BELABOX receiver answer in one shape:
 * `{ publishers: { <stream id>: { bitrate (kb/s), rtt (ms) } } }`. `publisher` picks the entry (the
 * stream id itself or its last path segment); without it the first one counts.
 */
export function parsePublisherStats(text: string, label: string, publisher?: string): ParseOutcome {
  const o = parseJson(text, `${label} stats`);
  if ('error' in o) return { kind: 'offline', reason: String(o.error) };
  const entry = publisherEntry(o, publisher, label);
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

function publisherEntry(o: Json, publisher: string | undefined, label: string): Json | { offline: string } {
  const pubs = o.publishers;
  if (!isObject(pubs)) return { offline: `${label}: no publishers object` };
  const keys = Object.keys(pubs);
  const key =
    publisher === undefined ? keys[0] : keys.find((k) => k === publisher || k.endsWith(`/${publisher}`));
  const entry = key === undefined ? undefined : pubs[key];
  if (!isObject(entry)) return { offline: `${label}: publisher ${publisher ?? '(any)'} not publishing` };
  return entry;
}

/** A server type of the publishers shape, named `label` in its reasons. */
export function publisherStatsSource(label: string): SourceModule {
  return httpStatsSource((body, config) => parsePublisherStats(body, label, config.publisher));
}
