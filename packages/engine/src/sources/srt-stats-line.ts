import type { ParseOutcome } from './feed-sample.js';
import type { SrtInterval } from './srt-rate-window.js';
import { isObject, type Json, lossPct, num, parseJson } from './stats-json.js';

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
