import type { Platform } from '../config.js';
import { parseTokenRecord } from './token-record.js';

/** One `telemy doctor` line about a chat platform's credentials, from what the vault holds (no network). */
export interface ChatAuthCheck {
  level: 'ok' | 'warn' | 'FAIL';
  what: string;
  detail: string;
}

/** "3h 12m", "45m", "20s": a span for people. */
export function humanSpan(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
}

/**
 * The account, scopes and token lifetime of a signed-in platform; a revoked sign-in fails with what
 * to run; a pasted token works but is warned about, as it cannot be refreshed.
 */
export function chatAuthCheck(
  platform: Platform,
  section: { channel?: string; token_key?: string },
  stored: { oauth: string | null; pasted: boolean },
  now: number,
): ChatAuthCheck {
  const what = `chat ${platform}`;
  const channel = section.channel ? `channel ${section.channel}` : 'channel from the broadcast';
  const login = `\`telemy chat login ${platform}\``;
  const r = parseTokenRecord(stored.oauth);
  if (r && r.revoked_at_ms !== null) {
    return {
      level: 'FAIL',
      what,
      detail: `${channel}: ${platform} refused the sign-in of ${r.account ?? 'the bot account'} (${new Date(r.revoked_at_ms).toISOString()}) — sign in again: ${login}`,
    };
  }
  if (r) {
    const life =
      r.expires_at_ms === null
        ? 'token lifetime not given by the platform'
        : `token lifetime ${humanSpan(r.expires_at_ms - r.obtained_at_ms)}, ${
            r.expires_at_ms > now
              ? `expires in ${humanSpan(r.expires_at_ms - now)}`
              : `expired ${humanSpan(now - r.expires_at_ms)} ago`
          }${r.refresh_token ? ' (refreshed automatically while Telemy runs)' : ' (no refresh token: sign in again when it expires)'}`;
    return {
      level: 'ok',
      what,
      detail: `${channel}, signed in as ${r.account ?? 'an unnamed account'}, scopes ${r.scopes.join(' ') || '(none listed)'}, ${life}`,
    };
  }
  if (stored.pasted) {
    return {
      level: 'warn',
      what,
      detail: `${channel}, pasted token ${section.token_key} in the vault: it cannot be refreshed and stops working when it expires — ${login} signs in with a token Telemy refreshes`,
    };
  }
  return {
    level: platform === 'kick' ? 'ok' : 'warn',
    what,
    detail:
      platform === 'youtube'
        ? `${channel}: no token — YouTube chat needs one to be read at all; ${login}`
        : `${channel}: no token — read-only; ${login} to reply`,
  };
}
