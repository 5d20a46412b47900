import { open, stat } from 'node:fs/promises';
import type { FeedSample, ParseOutcome } from './feed-sample.js';
import { toSample } from './feed-sample.js';
import { NonOverlappingInterval } from './non-overlapping-interval.js';
import { addInterval, EMPTY_SRT_WINDOW, type SrtRateWindow, windowRate } from './srt-rate-window.js';
import { parseSrtLiveTransmitLine } from './srt-stats-line.js';

export interface SrtStatsTailOptions {
  source: string;
  /** The file `srt-live-transmit -pf:json -statsout:FILE` appends to. */
  file: string;
  intervalMs: number;
  onSample: (sample: FeedSample) => void;
  /** A read found nothing new: the engine looked at `at` (what ages the last sample; see FeedMonitor). */
  onLooked?: (at: number) => void;
  now?: () => number;
}

/** Largest chunk read per poll: a stats line is well under 2 KiB, so this only bounds a backlog. */
const MAX_READ = 256 * 1024;

/**
 * Follows the srt-live-transmit stats file: reads only what was appended since the last poll and
 * reports the newest complete line. When the file is missing, it says so (offline with the reason);
 * when it stops growing, it says nothing and the classifier's staleness rule takes over.
 */
export class SrtStatsFileTail {
  private offset = 0;
  private partial = '';
  private window: SrtRateWindow = EMPTY_SRT_WINDOW;
  private readonly now: () => number;
  private readonly loop: NonOverlappingInterval;

  constructor(private readonly o: SrtStatsTailOptions) {
    this.now = o.now ?? Date.now;
    this.loop = new NonOverlappingInterval(() => this.readNew(), o.intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** One read of whatever was appended; exposed so tests and the tick can drive it. */
  poll(): Promise<void> {
    return this.loop.runOnce();
  }

  private async readNew(): Promise<void> {
    // The file is as it was when the read began: that is when the engine looked.
    const at = this.now();
    let size: number;
    try {
      size = (await stat(this.o.file)).size;
    } catch {
      this.offset = 0;
      this.partial = '';
      this.o.onSample(toSample({ kind: 'offline', reason: 'stats file not found' }, this.o.source, at));
      return;
    }
    // Truncated or recreated (srt-live-transmit restarted): start over.
    if (size < this.offset) {
      this.offset = 0;
      this.partial = '';
      this.window = EMPTY_SRT_WINDOW;
    }
    if (size === this.offset) {
      this.o.onLooked?.(at);
      return;
    }
    const start = Math.max(this.offset, size - MAX_READ);
    const fh = await open(this.o.file, 'r');
    let text: string;
    try {
      const buf = Buffer.alloc(size - start);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      text = buf.subarray(0, bytesRead).toString('utf8');
      this.offset = start + bytesRead;
    } finally {
      await fh.close();
    }
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    const outcomes = lines
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map(parseSrtLiveTransmitLine);
    for (const o of outcomes)
      if (o.kind === 'sample' && o.srt_interval) this.window = addInterval(this.window, o.srt_interval);
    const newest = outcomes.at(-1);
    if (newest === undefined) this.o.onLooked?.(at);
    else this.o.onSample(toSample(this.overWindow(newest), this.o.source, at));
  }

  /** The newest line, with the rate and loss of the last second rather than of its own interval. */
  private overWindow(newest: ParseOutcome): ParseOutcome {
    if (newest.kind !== 'sample') return newest;
    const rate = windowRate(this.window);
    return rate === null ? newest : { ...newest, ...rate };
  }
}
