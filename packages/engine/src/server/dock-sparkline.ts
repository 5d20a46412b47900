import type { DockHistory } from '@telemy/protocol';

export interface SparklineSample {
  bitrate_kbps: number | null;
  rtt_ms: number | null;
}

export interface SparklineHistoryOptions {
  now: () => number;
  /** How far back the sparklines reach. */
  windowMs?: number;
  /** One point per this many ms; a newer sample in the same slot replaces the older one. */
  resolutionMs?: number;
}

/**
 * Fixed-size ring of the feed's recent bitrate and RTT for the dock's 5-minute sparklines. Samples
 * arrive at the engine's sample rate (500 ms by default); keeping one point per second bounds both
 * memory and the size of every DockState push.
 */
export class SparklineHistory {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly resolutionMs: number;
  private readonly capacity: number;
  private readonly t: number[];
  private readonly bitrate: (number | null)[];
  private readonly rtt: (number | null)[];
  private head = 0;
  private size = 0;

  constructor(opts: SparklineHistoryOptions) {
    this.now = opts.now;
    this.windowMs = opts.windowMs ?? 300_000;
    this.resolutionMs = opts.resolutionMs ?? 1000;
    if (this.windowMs <= 0 || this.resolutionMs <= 0)
      throw new Error('window and resolution must be positive');
    this.capacity = Math.ceil(this.windowMs / this.resolutionMs) + 1;
    this.t = new Array(this.capacity).fill(0);
    this.bitrate = new Array(this.capacity).fill(null);
    this.rtt = new Array(this.capacity).fill(null);
  }

  record(sample: SparklineSample): void {
    const at = this.now();
    const last = (this.head + this.size - 1) % this.capacity;
    let slot: number;
    if (this.size > 0 && this.slotOf(this.t[last]!) === this.slotOf(at)) {
      slot = last;
    } else if (this.size < this.capacity) {
      slot = (this.head + this.size) % this.capacity;
      this.size++;
    } else {
      slot = this.head;
      this.head = (this.head + 1) % this.capacity;
    }
    this.t[slot] = at;
    this.bitrate[slot] = finiteOrNull(sample.bitrate_kbps);
    this.rtt[slot] = finiteOrNull(sample.rtt_ms);
  }

  /** Points inside the window ending now, oldest first. */
  snapshot(): DockHistory {
    const cutoff = this.now() - this.windowMs;
    const out: DockHistory = { window_ms: this.windowMs, t: [], bitrate_kbps: [], rtt_ms: [] };
    for (let i = 0; i < this.size; i++) {
      const slot = (this.head + i) % this.capacity;
      const at = this.t[slot]!;
      if (at < cutoff) continue;
      out.t.push(at);
      out.bitrate_kbps.push(this.bitrate[slot] ?? null);
      out.rtt_ms.push(this.rtt[slot] ?? null);
    }
    return out;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }

  private slotOf(at: number): number {
    return Math.floor(at / this.resolutionMs);
  }
}

function finiteOrNull(v: number | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
