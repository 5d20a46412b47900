import type { Platform } from '../config.js';
import { classifyRefreshFailure, type RefreshFailure } from './lifetime.js';
import { OAUTH_PLATFORMS } from './platforms.js';
import { recordFromTokenResponse, type TokenRecord } from './token-record.js';

/** The OAuth requests the chat sign-in and refresh make. Bodies are form-encoded, answers JSON. */

const HTTP_TIMEOUT_MS = 10_000;

export interface HttpAnswer {
  /** Null when no answer came (network error, timeout). */
  status: number | null;
  body: unknown;
}

export async function postForm(url: string, form: Record<string, string>): Promise<HttpAnswer> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  } catch {
    return { status: null, body: null };
  }
}

/** The platform's words for a refusal (`error_description`, `error`, Twitch's `message`), never a token. */
export function refusalText(a: HttpAnswer): string {
  if (a.status === null) return 'no answer';
  const b = (a.body && typeof a.body === 'object' ? a.body : {}) as Record<string, unknown>;
  const words = [b.error_description, b.error, b.message].find((w) => typeof w === 'string' && w !== '');
  return `HTTP ${a.status}${words ? ` ${String(words).slice(0, 200)}` : ''}`;
}

export type RefreshResult =
  | { ok: true; record: TokenRecord }
  | { ok: false; failure: RefreshFailure; detail: string };

/** One refresh_token grant for `record`. */
export async function refreshGrant(
  platform: Platform,
  host: string,
  record: TokenRecord,
  clientSecret: string | null,
  now: () => number,
): Promise<RefreshResult> {
  if (!record.refresh_token) return { ok: false, failure: 'revoked', detail: 'no refresh token' };
  const form: Record<string, string> = {
    grant_type: 'refresh_token',
    refresh_token: record.refresh_token,
    client_id: record.client_id,
  };
  if (clientSecret) form.client_secret = clientSecret;
  const answer = await postForm(`${host}${OAUTH_PLATFORMS[platform].paths.token}`, form);
  if (answer.status === 200) {
    try {
      return { ok: true, record: recordFromTokenResponse(answer.body, record.client_id, now(), record) };
    } catch (e) {
      return { ok: false, failure: 'transient', detail: (e as Error).message };
    }
  }
  return {
    ok: false,
    failure: classifyRefreshFailure(answer.status, answer.body),
    detail: refusalText(answer),
  };
}
