import { toSample } from '../feed-sample.js';
import { RelayFeedReader } from '../relay-feed.js';
import type { SourceModule } from '../source-module.js';

/** The Telemy relay's telemetry while an IRL session runs, read every sample interval. */
export const source: SourceModule = {
  runner: (ctx) => {
    const reader = new RelayFeedReader();
    return ctx.every(ctx.intervalMs, async () => {
      const now = ctx.now();
      const outcome = reader.read(ctx.cloud()?.snapshot(), now, ctx.cloudStarting());
      ctx.ingest(toSample(outcome, ctx.config.name, now));
    });
  },
};
