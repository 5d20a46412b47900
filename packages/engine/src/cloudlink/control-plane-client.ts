import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackoffPolicy, backoffMs, createLogger, type Logger } from '@telemy/protocol';
import type { z } from 'zod';
import {
  type ClientPlatform,
  ErrorEnvelopeSchema,
  type RequestedBy,
  type Session,
  SessionSchema,
  type StopReason,
  StopResponseSchema,
  type StopResult,
  TokenResponseSchema,
  type Usage,
  UsageSchema,
} from './api-schemas.js';
import { clientPlatform, ENGINE_VERSION } from './client-info.js';
import { type FetchLike, type FetchResponse, httpFetch } from './http-fetch.js';

export type { FetchLike, FetchResponse } from './http-fetch.js';

export interface ControlPlaneClientOptions {
  /** e.g. `https://cp.example.com`; `/api/v1/...` is appended. */
  baseUrl: string;
  /** Returns the API key (`tmk_…`) from the vault; asked again at every token exchange. */
  getSecret: () => Promise<string | null | undefined> | string | null | undefined;
  clientVersion?: string;
  platform?: ClientPlatform;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
  /** Total tries per call (first try included) and the delays between them. */
  retry?: { attempts: number } & BackoffPolicy;
  requestTimeoutMs?: number;
  /** Exchange a new JWT this long before the current one expires. */
  refreshBeforeMs?: number;
}

export type ControlPlaneErrorKind = 'http' | 'network' | 'protocol' | 'config';

/**
 * A failed control-plane call. `code`/`message` come from the server's error envelope when there is
 * one. Never carries the API key or the JWT.
 */
export class ControlPlaneError extends Error {
  readonly kind: ControlPlaneErrorKind;
  readonly status: number | null;
  readonly code: string;
  readonly requestId: string | null;
  readonly details: unknown;

  constructor(
    kind: ControlPlaneErrorKind,
    message: string,
    extra: { status?: number | null; code: string; requestId?: string | null; details?: unknown },
  ) {
    super(message);
    this.name = 'ControlPlaneError';
    this.kind = kind;
    this.status = extra.status ?? null;
    this.code = extra.code;
    this.requestId = extra.requestId ?? null;
    this.details = extra.details;
  }

  /** The control plane could not be reached or failed on its side: local operation goes on. */
  get unreachable(): boolean {
    return this.kind === 'network' || (this.status !== null && this.status >= 500);
  }
}

export interface StartRequest {
  region_preference: string;
  requested_by: RequestedBy;
  obs_connected?: boolean;
}

export interface StartResult {
  /** 201 when this call created the session, 200 when an existing one was returned. */
  status: number;
  session: Session;
  idempotencyKey: string;
}

interface SendOptions<S extends z.ZodType> {
  body?: unknown;
  idempotencyKey?: string;
  auth: boolean;
  schema: S;
}

const DEFAULT_RETRY = { attempts: 4, baseMs: 250, maxMs: 4_000 };

/** HTTP client for the control plane's `/api/v1` used by CloudLink and the CLI. */
export class ControlPlaneClient {
  private readonly base: string;
  private readonly opts: ControlPlaneClientOptions;
  private readonly fetchFn: FetchLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly retry: { attempts: number } & BackoffPolicy;
  private jwt: { token: string; refreshAt: number } | null = null;
  private pendingToken: Promise<string> | null = null;

  constructor(opts: ControlPlaneClientOptions) {
    const url = new URL(opts.baseUrl);
    // Only the origin and path: credentials in a URL would end up in messages and logs.
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.opts = opts;
    this.fetchFn = opts.fetch ?? httpFetch;
    this.sleep = opts.sleep ?? ((ms) => sleep(ms));
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? createLogger('cloudlink.cp');
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  get baseUrl(): string {
    return this.base;
  }

  /**
   * Requests a relay session. One idempotency key per start intent: pass the same key again to
   * retry the same intent (the control plane then answers with the same session).
   */
  async start(req: StartRequest, idempotencyKey: string = randomUUID()): Promise<StartResult> {
    const body = {
      region_preference: req.region_preference,
      client_context: {
        obs_connected: req.obs_connected ?? false,
        mode: 'irl',
        requested_by: req.requested_by,
      },
    };
    const res = await this.send('POST', '/relay/start', {
      body,
      idempotencyKey,
      auth: true,
      schema: SessionSchema,
    });
    if (res.data === null) throw this.badResponse('POST', '/relay/start', 'empty body');
    return { status: res.status, session: res.data, idempotencyKey };
  }

  async stop(sessionId: string, reason: StopReason): Promise<StopResult> {
    const res = await this.send('POST', '/relay/stop', {
      body: { session_id: sessionId, reason },
      auth: true,
      schema: StopResponseSchema,
    });
    if (res.data === null) throw this.badResponse('POST', '/relay/stop', 'empty body');
    return res.data;
  }

  /** The user's provisioning/active/grace session, or null (204). */
  async active(): Promise<Session | null> {
    return (await this.send('GET', '/relay/active', { auth: true, schema: SessionSchema })).data;
  }

  async usage(): Promise<Usage> {
    const res = await this.send('GET', '/usage/current', { auth: true, schema: UsageSchema });
    if (res.data === null) throw this.badResponse('GET', '/usage/current', 'empty body');
    return res.data;
  }

  private async accessToken(): Promise<string> {
    if (this.jwt && this.now() < this.jwt.refreshAt) return this.jwt.token;
    this.pendingToken ??= this.exchangeToken().finally(() => {
      this.pendingToken = null;
    });
    return this.pendingToken;
  }

  private async exchangeToken(): Promise<string> {
    const apiKey = await this.opts.getSecret();
    if (!apiKey) {
      throw new ControlPlaneError(
        'config',
        'no control-plane API key in the vault (set it with `telemy vault set`)',
        {
          code: 'missing_api_key',
        },
      );
    }
    const res = await this.send('POST', '/auth/token', {
      body: { api_key: apiKey },
      auth: false,
      schema: TokenResponseSchema,
    });
    if (res.data === null) throw this.badResponse('POST', '/auth/token', 'empty body');
    const expiresAt = Date.parse(res.data.expires_at);
    if (Number.isNaN(expiresAt)) throw this.badResponse('POST', '/auth/token', 'expires_at is not a date');
    const now = this.now();
    const lead = Math.min(this.opts.refreshBeforeMs ?? 60_000, Math.max(0, (expiresAt - now) / 2));
    this.jwt = { token: res.data.cp_access_jwt, refreshAt: expiresAt - lead };
    this.log.debug({ expires_at: res.data.expires_at }, 'control-plane access token obtained');
    return res.data.cp_access_jwt;
  }

  private async send<S extends z.ZodType>(
    method: string,
    path: string,
    opts: SendOptions<S>,
  ): Promise<{ status: number; data: z.infer<S> | null }> {
    const url = `${this.base}/api/v1${path}`;
    let retriedUnauthorized = false;
    let attempt = 0;
    for (;;) {
      const headers: Record<string, string> = {
        accept: 'application/json',
        'x-aegis-client-version': this.opts.clientVersion ?? ENGINE_VERSION,
        'x-aegis-client-platform': this.opts.platform ?? clientPlatform(),
      };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
      if (opts.auth) headers.authorization = `Bearer ${await this.accessToken()}`;

      let res: FetchResponse;
      let text: string;
      try {
        res = await this.fetchFn(url, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
        });
        text = await res.text();
      } catch (err) {
        const reason = networkReason(err);
        if (attempt + 1 < this.retry.attempts) {
          await this.backoff(method, path, attempt, reason);
          attempt++;
          continue;
        }
        throw new ControlPlaneError(
          'network',
          `control plane unreachable at ${this.base} (${method} ${path}): ${reason}`,
          { code: 'unreachable' },
        );
      }

      if (res.status === 401 && opts.auth && !retriedUnauthorized) {
        // The JWT may have been revoked or expired early: exchange once more, then give up.
        retriedUnauthorized = true;
        this.jwt = null;
        continue;
      }
      if (res.status >= 500 && attempt + 1 < this.retry.attempts) {
        await this.backoff(method, path, attempt, `HTTP ${res.status}`);
        attempt++;
        continue;
      }
      if (res.status >= 400) throw this.httpError(method, path, res, text);
      if (res.status === 204 || text.length === 0) return { status: res.status, data: null };

      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw this.badResponse(method, path, 'body is not JSON');
      }
      const parsed = opts.schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw this.badResponse(
          method,
          path,
          `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
        );
      }
      return { status: res.status, data: parsed.data };
    }
  }

  private async backoff(method: string, path: string, attempt: number, reason: string): Promise<void> {
    const delay = backoffMs(this.retry, attempt, this.random);
    this.log.warn(
      { method, path, attempt: attempt + 1, delay_ms: delay, reason },
      'control-plane call failed, retrying',
    );
    await this.sleep(delay);
  }

  private httpError(method: string, path: string, res: FetchResponse, text: string): ControlPlaneError {
    let envelope: z.infer<typeof ErrorEnvelopeSchema>['error'] | null = null;
    try {
      const parsed = ErrorEnvelopeSchema.safeParse(JSON.parse(text));
      if (parsed.success) envelope = parsed.data.error;
    } catch {
      envelope = null;
    }
    const code = envelope?.code ?? `http_${res.status}`;
    const detail = envelope ? `${envelope.code}: ${envelope.message}` : `HTTP ${res.status}`;
    return new ControlPlaneError('http', `control plane ${method} /api/v1${path} failed: ${detail}`, {
      status: res.status,
      code,
      requestId: envelope?.request_id ?? res.headers.get('x-request-id'),
      details: envelope?.details,
    });
  }

  private badResponse(method: string, path: string, why: string): ControlPlaneError {
    return new ControlPlaneError(
      'protocol',
      `control plane ${method} /api/v1${path} sent an unexpected response: ${why}`,
      {
        code: 'bad_response',
      },
    );
  }
}

function networkReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'request timed out';
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
  return err.message;
}
