import { backoffMs } from '@telemy/protocol';
import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * How the AWS provider treats a failed EC2 call: retry it (throttling, capacity,
 * 5xx, network), or stop at once (auth, bad image, validation, anything unknown — retrying those
 * only burns the budget and hides the real problem).
 */
export type AwsErrorKind = 'retryable' | 'terminal';

export interface AwsErrorClass {
  kind: AwsErrorKind;
  /** Short label for logs and the `reason` metric label: the EC2 error code, `http_5xx` or `network`. */
  reason: string;
}

const RETRYABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientAddressCapacity',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'TimeoutError',
  'NetworkingError',
  'AbortError',
]);

/** Codes that mean "the instance is already gone": success for a terminate. */
const GONE_CODES = new Set(['InvalidInstanceID.NotFound']);

export function awsErrorCode(err: unknown): string {
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  for (const c of [e?.Code, e?.name, e?.code]) if (typeof c === 'string' && c !== 'Error') return c;
  return 'Unknown';
}

export function classifyAwsError(err: unknown): AwsErrorClass {
  const code = awsErrorCode(err);
  if (RETRYABLE_CODES.has(code)) return { kind: 'retryable', reason: code };
  const e = err as { $metadata?: { httpStatusCode?: number }; code?: unknown; cause?: { code?: unknown } };
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return { kind: 'retryable', reason: 'http_5xx' };
  if (NETWORK_CODES.has(code) || (typeof e?.cause?.code === 'string' && NETWORK_CODES.has(e.cause.code))) {
    return { kind: 'retryable', reason: 'network' };
  }
  return { kind: 'terminal', reason: code };
}

export function isAlreadyGone(err: unknown): boolean {
  return GONE_CODES.has(awsErrorCode(err));
}

/** An EC2 call that failed for good; the message names the operation, region and EC2 code. */
export class AwsOperationError extends Error {
  constructor(
    readonly op: string,
    readonly region: string,
    readonly code: string,
    readonly kind: AwsErrorKind,
    readonly attempts: number,
    readonly exhausted: boolean,
    cause: unknown,
  ) {
    const why = exhausted ? `retries exhausted after ${attempts} attempts` : kind;
    const detail = cause instanceof Error && cause.message ? `: ${cause.message.slice(0, 200)}` : '';
    super(`EC2 ${op} in ${region} failed with ${code} (${why})${detail}`, { cause });
    this.name = 'AwsOperationError';
  }
}

export interface AwsRetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt. */
  budgetMs: number;
}

export const DEFAULT_AWS_RETRY: AwsRetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  budgetMs: 60_000,
};

export interface AwsMetrics {
  operations: Counter<'op' | 'region' | 'status'>;
  duration: Histogram<'op' | 'region'>;
  retries: Counter<'op' | 'region' | 'reason'>;
  exhausted: Counter<'op' | 'region'>;
}

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}

/** The `aegis_aws_*` instruments (docs/observability.md), shared by every provider on a registry. */
export function awsMetrics(registry: Registry): AwsMetrics {
  const durationName = 'aegis_aws_operation_duration_seconds';
  return {
    operations: counter(registry, 'aegis_aws_operations_total', 'EC2 calls by outcome', [
      'op',
      'region',
      'status',
    ]),
    duration:
      (registry.getSingleMetric(durationName) as Histogram<'op' | 'region'> | undefined) ??
      new Histogram({
        name: durationName,
        help: 'Duration of single EC2 calls',
        labelNames: ['op', 'region'],
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
    retries: counter(registry, 'aegis_aws_retries_total', 'EC2 calls retried, by error reason', [
      'op',
      'region',
      'reason',
    ]),
    exhausted: counter(
      registry,
      'aegis_aws_retry_exhausted_total',
      'EC2 calls given up after the retry budget',
      ['op', 'region'],
    ),
  };
}

export interface AwsCallDeps {
  metrics: AwsMetrics;
  policy: AwsRetryPolicy;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  random: () => number;
}

/**
 * Runs one EC2 call with the retry policy: exponential backoff with full jitter
 * (`random() · min(maxDelay, base · 2^n)`), capped attempts and a total time budget.
 */
export async function callAws<T>(
  op: string,
  region: string,
  fn: () => Promise<T>,
  deps: AwsCallDeps,
): Promise<T> {
  const { metrics, policy } = deps;
  const startedAt = deps.now();
  for (let attempt = 1; ; attempt++) {
    const t0 = deps.now();
    try {
      const result = await fn();
      metrics.operations.inc({ op, region, status: 'success' });
      metrics.duration.observe({ op, region }, (deps.now() - t0) / 1000);
      return result;
    } catch (err) {
      metrics.duration.observe({ op, region }, (deps.now() - t0) / 1000);
      const c = classifyAwsError(err);
      metrics.operations.inc({
        op,
        region,
        status: c.kind === 'retryable' ? 'retryable_error' : 'terminal_error',
      });
      const code = awsErrorCode(err);
      if (c.kind === 'terminal') throw new AwsOperationError(op, region, code, c.kind, attempt, false, err);
      const delay =
        deps.random() * backoffMs({ baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs }, attempt - 1);
      if (attempt >= policy.maxAttempts || deps.now() - startedAt + delay > policy.budgetMs) {
        metrics.exhausted.inc({ op, region });
        throw new AwsOperationError(op, region, code, c.kind, attempt, true, err);
      }
      metrics.retries.inc({ op, region, reason: c.reason });
      await deps.sleep(delay);
    }
  }
}
