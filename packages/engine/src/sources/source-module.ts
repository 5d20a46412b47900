import type { CloudLink } from '../cloudlink/cloudlink.js';
import type { SourceConfig } from '../config/index.js';
import type { MetricsHub } from '../obs/metrics-hub.js';
import type { ObsLink } from '../obs/obs-link.js';
import type { FeedSample, ParseOutcome } from './feed-sample.js';
import { HttpStatsPoller, type StatsRequest } from './http-poller.js';

export interface SourceRunner {
  start(): void;
  stop(): void;
}

/** What a source type is given to run one `[[sources]]` entry. */
export interface SourceContext {
  config: SourceConfig;
  /** The configured sample interval (`[thresholds] sample_interval_ms`). */
  intervalMs: number;
  now: () => number;
  /** Hands a sample to the feed monitor; it is evaluated at once. */
  ingest: (sample: FeedSample) => void;
  /** A look that found nothing new: it ages the source's last sample. */
  looked: (at: number) => void;
  /** A timer that never overlaps itself and logs a failed poll instead of throwing. */
  every: (intervalMs: number, poll: () => Promise<void>) => SourceRunner;
  obs: ObsLink;
  hub: MetricsHub;
  cloud: () => CloudLink | null;
  /** The control plane is still coming up to say whether a relay session runs. */
  cloudStarting: () => boolean;
  /** A vault entry (`password_key`), read when the type needs it so a changed secret counts at once. */
  secret: (key: string) => string | null;
}

/**
 * One feed source type: the module `types/<name>.ts` (the shared source-type table's name with `-`
 * for `_`) exports it as `source`; `registry.ts` finds it by that name.
 */
export interface SourceModule {
  runner(ctx: SourceContext): SourceRunner;
}

/**
 * A type whose stats are an HTTP endpoint (`url`), polled every sample interval and parsed.
 * `request`, when given, makes each poll's request (a server that wants a sign-in first).
 */
export function httpStatsSource(
  parse: (body: string, config: SourceConfig) => ParseOutcome,
  request?: (ctx: SourceContext) => StatsRequest,
): SourceModule {
  return {
    runner: (ctx) =>
      new HttpStatsPoller({
        source: ctx.config.name,
        url: ctx.config.url ?? '',
        intervalMs: ctx.intervalMs,
        parse: (body) => parse(body, ctx.config),
        onSample: ctx.ingest,
        now: ctx.now,
        ...(request ? { request: request(ctx) } : {}),
      }),
  };
}
