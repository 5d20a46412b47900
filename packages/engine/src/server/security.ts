import { timingSafeEqual } from 'node:crypto';
import { networkInterfaces } from 'node:os';

/**
 * Pure checks for the local server. The dock can switch scenes, so every request must carry the local
 * access token, name an allowed Host (defeats DNS rebinding), and — when it changes state or
 * upgrades to a WebSocket — come from the dashboard's own Origin.
 */

export const TOKEN_COOKIE = 'telemy_token';

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface TokenCarrier {
  authorization?: string | undefined;
  cookie?: string | undefined;
  queryToken?: string | undefined;
}

/** The token from `Authorization: Bearer`, the dock's cookie, or `?token=` (the printed dock URL). */
export function presentedToken(c: TokenCarrier): string | null {
  const auth = c.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (auth) return auth;
  const cookie = c.cookie
    ?.split(';')
    .map((p) => p.trim())
    .find((p) => p.startsWith(`${TOKEN_COOKIE}=`))
    ?.slice(TOKEN_COOKIE.length + 1);
  if (cookie) {
    // A cookie that is not valid percent-encoding is no token at all (401, not a 500).
    const decoded = decodeCookie(cookie);
    if (decoded) return decoded;
  }
  return c.queryToken && c.queryToken.length > 0 ? c.queryToken : null;
}

function decodeCookie(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * `token=<value>` (the printed dashboard URL's query, the dock's cookie) with the value replaced, for
 * anything that may reach a log or a response: the access token is never echoed.
 */
export function redactToken(text: string): string {
  return text.replace(/(token=)[^&#;\s'"]*/gi, '$1[redacted]');
}

/** Host header values the server answers to: loopback names always, this machine's IPs with LAN access. */
export function allowedHosts(opts: {
  host: string;
  port: number;
  lanAccess: boolean;
  extraHosts?: string[];
}): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', opts.host, ...(opts.extraHosts ?? [])]);
  if (opts.lanAccess) {
    for (const list of Object.values(networkInterfaces())) {
      for (const ni of list ?? []) names.add(ni.family === 'IPv6' ? `[${ni.address}]` : ni.address);
    }
  }
  const out = new Set<string>();
  for (const n of names) {
    out.add(`${n}:${opts.port}`.toLowerCase());
    if (opts.port === 80) out.add(n.toLowerCase());
  }
  return out;
}

export function hostAllowed(hostHeader: string | undefined, allowed: Set<string>): boolean {
  return hostHeader !== undefined && allowed.has(hostHeader.toLowerCase());
}

/** A browser sends Origin on cross-site requests; it must be our own http://<Host>. No Origin = not a browser page. */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  return hostHeader !== undefined && origin.toLowerCase() === `http://${hostHeader.toLowerCase()}`;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');
