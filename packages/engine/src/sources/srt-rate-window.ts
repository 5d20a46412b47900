/**
 * The receive rate of an srt-live-transmit feed over the last second of SRT's own clock.
 *
 * Each stats line counts what the SRT socket received since the previous line, and a line is
 * written every N packets the program *reads*. When srt-live-transmit is descheduled for a few
 * hundred ms (a busy PC), it then reads the backlog in one go and writes a burst of lines less than
 * a millisecond apart: one with a huge rate, then several counting 0 packets. Each of those lines
 * is true for its sub-millisecond interval and says nothing about the feed; read alone, a 0 line is
 * "0 kb/s" and would put BRB on air while the phone is fine. So the rate is the bytes of the lines
 * that end within the window divided by the SRT time they cover.
 */

/** What one stats line counted, and when its interval ended on the SRT socket's clock. */
export interface SrtInterval {
  /** The SRT socket id: a new one is a new connection (the phone reconnected). */
  stream: number;
  /** SRT's `time`: ms since the connection began, when this interval ended. */
  end_ms: number;
  bytes: number;
  packets: number;
  lost: number;
}

/** The lines of the current connection that the rate is taken over; the first is only its start. */
export interface SrtRateWindow {
  readonly lines: readonly SrtInterval[];
}

/** Longer than any scheduling stall a burst comes from, short next to the LOW window. */
export const SRT_RATE_WINDOW_MS = 1000;

export const EMPTY_SRT_WINDOW: SrtRateWindow = { lines: [] };

export function addInterval(w: SrtRateWindow, i: SrtInterval): SrtRateWindow {
  const last = w.lines.at(-1);
  if (last === undefined || last.stream !== i.stream || i.end_ms < last.end_ms) return { lines: [i] };
  const lines = [...w.lines, i];
  // Keep the line before the window as its start, so the window covers at least the full span.
  while (lines.length > 2 && i.end_ms - (lines[1] as SrtInterval).end_ms >= SRT_RATE_WINDOW_MS) lines.shift();
  return { lines };
}

/** kb/s and loss over the window, or null until it spans any SRT time (then use the line's own rate). */
export function windowRate(w: SrtRateWindow): { bitrate_kbps: number; loss_pct: number } | null {
  const start = w.lines[0];
  const end = w.lines.at(-1);
  if (start === undefined || end === undefined || end.end_ms <= start.end_ms) return null;
  let bytes = 0;
  let packets = 0;
  let lost = 0;
  for (const l of w.lines.slice(1)) {
    bytes += l.bytes;
    packets += l.packets;
    lost += l.lost;
  }
  return {
    // bytes·8 per ms is kbit/s.
    bitrate_kbps: (bytes * 8) / (end.end_ms - start.end_ms),
    loss_pct: packets + lost > 0 ? (lost / (packets + lost)) * 100 : 0,
  };
}
