import type { FeedSample, ParseOutcome } from './feed-sample.js';
import { toSample } from './feed-sample.js';
import { NonOverlappingInterval } from './non-overlapping-interval.js';

/**
 * One poll's request: the stats response, or what to report without one (a refused sign-in is
 * offline, a sign-in still under way unknown). Throwing is a failed fetch, like a refused connection.
 */
export type StatsRequest = (
  signal: AbortSignal,
) => Promise<Response | { kind: 'offline' | 'unknown'; reason: string }>;

export interface HttpStatsPollerOptions {
  source: string;
  url: string;
  intervalMs: number;
  /** Defaults to the interval (a poll never overlaps the next one). */
  timeoutMs?: number;
  parse: (body: string) => ParseOutcome;
  /** Defaults to a plain GET of `url`. */
  request?: StatsRequest;
  onSample: (sample: FeedSample) => void;
  now?: () => number;
}

/**
 * Polls an HTTP stats endpoint (SLS, BELABOX, MediaMTX, nginx-rtmp). Non-2xx answers, timeouts and
 * refused connections become offline samples with the reason. Formats that only report a byte
 * counter get their rate from the difference between two polls.
 */
export class HttpStatsPoller {
  private prevBytes: { bytes: number; at: number } | null = null;
  private readonly now: () => number;
  private readonly loop: NonOverlappingInterval;

  constructor(private readonly o: HttpStatsPollerOptions) {
    this.now = o.now ?? Date.now;
    this.loop = new NonOverlappingInterval(async () => o.onSample(await this.fetchOnce()), o.intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** One poll (skipped while the previous one is still running). */
  poll(): Promise<void> {
    return this.loop.runOnce();
  }

  private async fetchOnce(): Promise<FeedSample> {
    const timeoutMs = this.o.timeoutMs ?? this.o.intervalMs;
    // The answer describes the feed as of the request: a slow server does not age it.
    const at = this.now();
    let outcome: ParseOutcome;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await (this.o.request ?? ((s: AbortSignal) => fetch(this.o.url, { signal: s })))(signal);
      if (!(res instanceof Response)) outcome = res;
      else {
        const body = await res.text();
        outcome = res.ok
          ? this.o.parse(body)
          : { kind: 'offline', reason: `stats endpoint answered HTTP ${res.status}` };
      }
    } catch (err) {
      outcome = { kind: 'offline', reason: describeFetchError(err, timeoutMs) };
    }
    if (outcome.kind === 'sample' && outcome.bytes_total !== undefined) {
      const prev = this.prevBytes;
      this.prevBytes = { bytes: outcome.bytes_total, at };
      if (prev && at > prev.at && outcome.bytes_total >= prev.bytes) {
        outcome = { ...outcome, bitrate_kbps: ((outcome.bytes_total - prev.bytes) * 8) / (at - prev.at) };
      }
    } else if (outcome.kind === 'offline') {
      this.prevBytes = null;
    }
    return toSample(outcome, this.o.source, at);
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `stats endpoint timed out after ${timeoutMs} ms`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : null;
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : null;
  return `stats endpoint unreachable${code ? ` (${code})` : ''}`;
}
