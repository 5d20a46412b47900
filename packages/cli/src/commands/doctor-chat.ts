import { authHost, humanSpan, type Platform, parseTokenRecord } from '@telemy/engine/chat-auth';
import type { ChatSectionConfig } from '@telemy/engine/config';
import { errorText } from '@telemy/protocol';
import type { Check } from './doctor.js';

/** Where each platform's API is when the config names no other (the chat adapters' defaults). */
export const KICK_API_HOST = 'https://api.kick.com';
export const YOUTUBE_API_HOST = 'https://www.googleapis.com/youtube/v3';

/** The scopes chat needs on Twitch (what `telemy chat login` asks for). */
const TWITCH_SCOPES = ['chat:read', 'chat:edit'];

type PlatformSection = NonNullable<ChatSectionConfig[Platform]>;

/** The token chat would use now: a signed-in access token, else a pasted one; null without either. */
export function currentToken(
  platform: Platform,
  section: PlatformSection,
  read: (key: string) => string | null,
  now: number,
): { token: string; kind: 'signed in' | 'pasted' } | { skip: string } | null {
  const record = parseTokenRecord(read(`chat_${platform}_oauth`));
  if (record && record.revoked_at_ms === null) {
    if (record.expires_at_ms !== null && record.expires_at_ms <= now)
      return { skip: 'access token expired; Telemy refreshes it when it starts' };
    return { token: record.access_token, kind: 'signed in' };
  }
  if (record) return null;
  const pasted = section.token_key ? read(section.token_key) : null;
  // Twitch chat tokens are often pasted as IRC passwords, `oauth:<token>`.
  return pasted ? { token: pasted.replace(/^oauth:/, ''), kind: 'pasted' } : null;
}

/**
 * Asks the platform whether the token chat would use is valid: Twitch's token validation, Kick's
 * users endpoint, YouTube's own channel (one quota unit). Nothing is refreshed: a refresh would
 * spend the refresh token the engine holds. A refused token fails with what to run.
 */
export async function checkChatToken(
  platform: Platform,
  section: PlatformSection,
  read: (key: string) => string | null,
  timeoutMs: number,
  now = Date.now(),
): Promise<Check | null> {
  const what = `chat ${platform} token`;
  const current = currentToken(platform, section, read, now);
  if (current === null) return null;
  if ('skip' in current) return { level: 'ok', what, detail: `not checked: ${current.skip}` };
  const login = `\`telemy chat login ${platform}\``;
  const name = { twitch: 'Twitch', kick: 'Kick', youtube: 'YouTube' }[platform];
  let res: Response;
  const request = tokenRequest(platform, section, current.token);
  try {
    res = await fetch(request.url, { headers: request.headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return {
      level: 'warn',
      what,
      detail: `could not ask ${name} (${request.url}): ${errorText(err)} — the token is not checked`,
    };
  }
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (res.status === 401)
    return {
      level: 'FAIL',
      what,
      detail: `${name} refused the ${current.kind} token (HTTP 401${message(body)}) — sign in again: ${login}`,
    };
  if (!res.ok)
    return {
      level: 'warn',
      what,
      detail: `${name} answered HTTP ${res.status}${message(body)}; the token is not checked`,
    };
  return { what, ...accepted(platform, body, current.kind, name) };
}

function tokenRequest(
  platform: Platform,
  section: PlatformSection,
  token: string,
): { url: string; headers: Record<string, string> } {
  if (platform === 'twitch')
    return { url: `${authHost('twitch', section)}/validate`, headers: { authorization: `OAuth ${token}` } };
  const bearer = { authorization: `Bearer ${token}` };
  if (platform === 'kick') {
    const api = ('api_host' in section ? section.api_host : undefined) ?? KICK_API_HOST;
    return { url: `${api.replace(/\/+$/, '')}/public/v1/users`, headers: bearer };
  }
  const base = (section.host ?? YOUTUBE_API_HOST).replace(/\/+$/, '');
  return { url: `${base}/channels?part=snippet&mine=true`, headers: bearer };
}

function accepted(
  platform: Platform,
  body: Record<string, unknown> | null,
  kind: string,
  name: string,
): { level: Check['level']; detail: string } {
  if (platform === 'twitch') {
    const scopes = Array.isArray(body?.scopes) ? body.scopes.map(String) : [];
    const lacking = TWITCH_SCOPES.filter((s) => !scopes.includes(s));
    const expires =
      typeof body?.expires_in === 'number' && body.expires_in > 0
        ? `, expires in ${humanSpan(body.expires_in * 1000)}`
        : '';
    const detail = `${name} accepts the ${kind} token of ${String(body?.login ?? 'an unnamed account')}${expires}`;
    return lacking.length === 0
      ? { level: 'ok', detail }
      : {
          level: 'warn',
          detail: `${detail}, but it lacks ${lacking.join(' ')}: chat cannot reply — \`telemy chat login twitch\``,
        };
  }
  if (platform === 'kick') {
    const first = Array.isArray(body?.data)
      ? (body.data[0] as Record<string, unknown> | undefined)
      : undefined;
    return {
      level: 'ok',
      detail: `${name} accepts the ${kind} token of ${String(first?.name ?? 'an unnamed account')}`,
    };
  }
  const items = Array.isArray(body?.items) ? (body.items as Array<Record<string, unknown>>) : [];
  const snippet = items[0]?.snippet as Record<string, unknown> | undefined;
  return {
    level: 'ok',
    detail: `${name} accepts the ${kind} token of channel ${String(snippet?.title ?? items[0]?.id ?? '(none)')} (asking cost 1 quota unit)`,
  };
}

/** The platform's own words about a refusal: Twitch and Kick `message`, Google `error.message`. */
function message(body: Record<string, unknown> | null): string {
  const error = body?.error;
  const m =
    body?.message ??
    (typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : null);
  return typeof m === 'string' ? `: ${m}` : '';
}
