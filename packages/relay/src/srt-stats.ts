/**
 * One statistics line of `srt-live-transmit -pf:json`, reduced to what a link row needs. The tool's
 * output is not a stable API, so parsing is tolerant: anything that is not a JSON object with the
 * expected numbers yields null (or null fields), never an exception.
 */
export interface SrtStatsSample {
  rttMs: number | null;
  /** Lost / (received + lost) in this report's window, 0..1. */
  lossRatio: number | null;
  receiveMbps: number | null;
  bufferMs: number | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export function parseSrtStatsLine(line: string): SrtStatsSample | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return null;
  }
  const root = obj(parsed);
  if (!root) return null;
  const link = obj(root.link);
  const recv = obj(root.recv);
  if (!link && !recv) return null;
  // srt-live-transmit reports RTT in milliseconds (`"rtt":0.037` on loopback).
  const rttMs = num(link?.rtt);
  const received = num(recv?.packets);
  const lost = num(recv?.packetsLost);
  const lossRatio =
    received !== null && lost !== null ? (received + lost > 0 ? lost / (received + lost) : 0) : null;
  return { rttMs, lossRatio, receiveMbps: num(recv?.mbitRate), bufferMs: num(recv?.msBuf) };
}

/** Splits a byte stream into lines, keeping a partial trailing line for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split(/\r?\n/);
    this.rest = lines.pop() ?? '';
    // A line that never ends (garbage without newlines) must not grow without bound.
    if (this.rest.length > 64 * 1024) this.rest = '';
    return lines.filter((l) => l.length > 0);
  }
}
