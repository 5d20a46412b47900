import { backoffMs, type Logger, type RelayHealthReport } from '@telemy/protocol';

export type HealthOutcome =
  | { kind: 'ok' }
  /** The control plane says this session is over (404/403). */
  | { kind: 'session_ended'; status: number }
  | { kind: 'failed'; reason: string };

export interface HealthReporterOptions {
  controlPlaneUrl: string;
  credential: string;
  intervalMs: number;
  body: () => RelayHealthReport;
  onOutcome: (o: HealthOutcome) => void;
  log: Logger;
  /** Random in [0, 1) for the jitter of retry delays. */
  random?: () => number;
  requestTimeoutMs?: number;
}

/**
 * Posts the health report every interval; a failed post is retried with exponential backoff (from
 * 1 s, capped at the interval, with jitter), each retry carrying a fresh body. Nothing here can
 * stop the media path: failures are counted and reported, never thrown.
 */
export class HealthReporter {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;
  private readonly url: string;

  constructor(private readonly opts: HealthReporterOptions) {
    this.url = `${opts.controlPlaneUrl.replace(/\/+$/, '')}/api/v1/relay/health`;
  }

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const outcome = await this.post();
    if (this.stopped) return;
    this.opts.onOutcome(outcome);
    if (outcome.kind === 'session_ended') return;
    if (outcome.kind === 'ok') {
      this.failures = 0;
      this.schedule(this.opts.intervalMs);
      return;
    }
    this.failures += 1;
    const delay = backoffMs(
      { baseMs: 1_000, maxMs: this.opts.intervalMs },
      this.failures - 1,
      this.opts.random ?? Math.random,
    );
    this.opts.log.warn({ reason: outcome.reason, retry_in_ms: delay }, 'health report failed');
    this.schedule(delay);
  }

  private async post(): Promise<HealthOutcome> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Relay ${this.opts.credential}` },
        body: JSON.stringify(this.opts.body()),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 5_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { kind: 'ok' };
      if (res.status === 404 || res.status === 403) return { kind: 'session_ended', status: res.status };
      return { kind: 'failed', reason: `HTTP ${res.status}` };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { kind: 'failed', reason: cause ?? (err instanceof Error ? err.name : 'error') };
    }
  }
}
