import type { SourceModule } from '../source-module.js';
import { SrtStatsFileTail } from '../srt-stats-tail.js';

/** The stats file is local: reading it every 100 ms costs a stat() and lets a sample count from its line. */
const STATS_FILE_POLL_MS = 100;

/** `srt-live-transmit -pf:json -statsout:FILE`: the appended stats lines of the file `stats_file`. */
export const source: SourceModule = {
  runner: (ctx) =>
    new SrtStatsFileTail({
      source: ctx.config.name,
      file: ctx.config.stats_file ?? '',
      intervalMs: Math.min(ctx.intervalMs, STATS_FILE_POLL_MS),
      onSample: ctx.ingest,
      onLooked: ctx.looked,
      now: ctx.now,
    }),
};
