import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KICK_DEFAULT_API_HOST } from '../adapters/kick.js';
import { YOUTUBE_DEFAULT_HOST } from '../adapters/youtube.js';
import type { Platform } from '../config.js';
import { postForm, refusalText } from './oauth-http.js';
import { authHost, type ChatOAuthConfig, OAUTH_PLATFORMS } from './platforms.js';
import { recordFromTokenResponse, type TokenRecord } from './token-record.js';

/**
 * `telemy chat login`: the platform's own sign-in, the device-code flow where it has one (Twitch,
 * Google), else the authorization code flow with PKCE and a one-shot loopback listener (Kick).
 * Returns the tokens as a vault record; the caller stores it. Nothing here logs a token.
 */

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const HTTP_TIMEOUT_MS = 10_000;

export type LoginPrompt =
  | { kind: 'device'; url: string; code: string; expires_in_s: number }
  | { kind: 'browser'; url: string; redirect_uri: string };

export interface LoginOptions {
  platform: Platform;
  /** The platform's section: `client_id`, `auth_host`, and the API hosts the account is read from. */
  config: ChatOAuthConfig & { host?: string; api_host?: string };
  clientSecret: string | null;
  /** Shows the user where to go (and the code to type, for the device flow). */
  prompt: (p: LoginPrompt) => void;
  /** Loopback port of the PKCE redirect (it must match the app's registered redirect URI); 0: any free port. */
  redirectPort?: number;
  /** How long the PKCE flow waits for the browser. */
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export async function chatLogin(opts: LoginOptions): Promise<TokenRecord> {
  const { platform, config } = opts;
  const p = OAUTH_PLATFORMS[platform];
  if (!config.client_id)
    throw new Error(
      `[chat.${platform}] client_id is not set: ${p.consoleHint}, then put its client id there`,
    );
  if (p.needsSecret && !opts.clientSecret)
    throw new Error(
      `${platform} needs the app's client secret in the vault: \`telemy vault set ${config.client_secret_key ?? `chat_${platform}_client_secret`}\``,
    );
  const record =
    p.flow === 'device' ? await deviceFlow(opts, config.client_id) : await pkceFlow(opts, config.client_id);
  return { ...record, ...(await accountOf(platform, config, record.access_token)) };
}

async function deviceFlow(opts: LoginOptions, clientId: string): Promise<TokenRecord> {
  const { platform } = opts;
  const p = OAUTH_PLATFORMS[platform];
  const host = authHost(platform, opts.config);
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  // Twitch takes `scopes`, Google the standard `scope`.
  const scopeField = platform === 'twitch' ? 'scopes' : 'scope';
  const scope = p.scopes.join(' ');
  const start = await postForm(`${host}${p.paths.device}`, { client_id: clientId, [scopeField]: scope });
  const d = (start.body ?? {}) as Record<string, unknown>;
  if (start.status !== 200 || typeof d.device_code !== 'string' || typeof d.user_code !== 'string')
    throw new Error(`${platform} refused to start the sign-in: ${refusalText(start)}`);
  const url = d.verification_uri ?? d.verification_url;
  const expiresInS = typeof d.expires_in === 'number' ? d.expires_in : 600;
  opts.prompt({ kind: 'device', url: String(url), code: d.user_code, expires_in_s: expiresInS });
  let intervalMs = (typeof d.interval === 'number' ? d.interval : 5) * 1000;
  const deadline = now() + expiresInS * 1000;
  const form: Record<string, string> = {
    client_id: clientId,
    device_code: d.device_code,
    grant_type: DEVICE_GRANT,
  };
  if (platform === 'twitch') form.scopes = scope;
  if (opts.clientSecret) form.client_secret = opts.clientSecret;
  while (now() < deadline) {
    await sleep(intervalMs);
    const answer = await postForm(`${host}${p.paths.token}`, form);
    if (answer.status === 200) return recordFromTokenResponse(answer.body, clientId, now(), null);
    const b = (answer.body ?? {}) as Record<string, unknown>;
    const code = typeof b.error === 'string' ? b.error : typeof b.message === 'string' ? b.message : '';
    if (answer.status === null || code === 'authorization_pending') continue;
    if (code === 'slow_down') {
      intervalMs += 5000;
      continue;
    }
    throw new Error(`${platform} sign-in failed: ${refusalText(answer)}`);
  }
  throw new Error(
    `${platform} sign-in timed out: the code was not entered within ${Math.round(expiresInS / 60)} min`,
  );
}

async function pkceFlow(opts: LoginOptions, clientId: string): Promise<TokenRecord> {
  const { platform } = opts;
  const p = OAUTH_PLATFORMS[platform];
  const host = authHost(platform, opts.config);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const listener = await loopbackListener(opts.redirectPort ?? 0, state, opts.timeoutMs ?? 300_000);
  try {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: listener.redirectUri,
      scope: p.scopes.join(' '),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
    });
    opts.prompt({
      kind: 'browser',
      url: `${host}${p.paths.authorize}?${query}`,
      redirect_uri: listener.redirectUri,
    });
    const code = await listener.code;
    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      client_id: clientId,
      redirect_uri: listener.redirectUri,
      code_verifier: verifier,
      code,
    };
    if (opts.clientSecret) form.client_secret = opts.clientSecret;
    const answer = await postForm(`${host}${p.paths.token}`, form);
    if (answer.status !== 200)
      throw new Error(`${platform} refused the sign-in code: ${refusalText(answer)}`);
    return recordFromTokenResponse(answer.body, clientId, (opts.now ?? Date.now)(), null);
  } finally {
    listener.close();
  }
}

interface Listener {
  redirectUri: string;
  code: Promise<string>;
  close: () => void;
}

/**
 * Waits on 127.0.0.1 for the one browser redirect that carries our `state`, answers it, then stops
 * listening. Other requests (a favicon, a stale tab) are refused without ending the wait.
 */
async function loopbackListener(port: number, state: string, timeoutMs: number): Promise<Listener> {
  let settle: { resolve: (code: string) => void; reject: (e: Error) => void } | null = null;
  const code = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const page = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(text);
    };
    if (url.pathname !== '/callback' || url.searchParams.get('state') !== state) {
      page(400, 'Not a Telemy sign-in for this session.');
      return;
    }
    const error = url.searchParams.get('error');
    const got = url.searchParams.get('code');
    if (error || !got) {
      page(400, `Sign-in refused: ${error ?? 'no code'}. Run telemy chat login again.`);
      settle?.reject(new Error(`sign-in refused in the browser: ${error ?? 'no code'}`));
    } else {
      page(200, 'Telemy is signed in. You can close this tab.');
      settle?.resolve(got);
    }
    settle = null;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const timer = setTimeout(() => {
    settle?.reject(new Error(`no sign-in arrived within ${Math.round(timeoutMs / 1000)} s`));
    settle = null;
  }, timeoutMs);
  const actual = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://127.0.0.1:${actual}/callback`,
    code,
    close: () => {
      clearTimeout(timer);
      server.close();
      server.closeAllConnections();
    },
  };
}

/** The signed-in account's name (and Twitch's own word on the scopes); null fields when the platform does not say. */
async function accountOf(
  platform: Platform,
  config: LoginOptions['config'],
  token: string,
): Promise<{ account: string | null; scopes?: string[] }> {
  const get = async (url: string, scheme: string): Promise<Record<string, unknown> | null> => {
    try {
      const res = await fetch(url, {
        headers: { authorization: `${scheme} ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  if (platform === 'twitch') {
    const v = await get(`${authHost(platform, config)}${OAUTH_PLATFORMS.twitch.paths.validate}`, 'OAuth');
    const scopes = Array.isArray(v?.scopes)
      ? v.scopes.filter((s): s is string => typeof s === 'string')
      : undefined;
    return { account: typeof v?.login === 'string' ? v.login : null, ...(scopes ? { scopes } : {}) };
  }
  if (platform === 'youtube') {
    const base = (config.host ?? YOUTUBE_DEFAULT_HOST).replace(/\/+$/, '');
    const v = await get(`${base}/channels?part=snippet&mine=true`, 'Bearer');
    const item = (v?.items as Array<{ snippet?: { title?: unknown } }> | undefined)?.[0];
    return { account: typeof item?.snippet?.title === 'string' ? item.snippet.title : null };
  }
  const base = (config.api_host ?? KICK_DEFAULT_API_HOST).replace(/\/+$/, '');
  const v = await get(`${base}/public/v1/users`, 'Bearer');
  const user = (v?.data as Array<{ name?: unknown }> | undefined)?.[0];
  return { account: typeof user?.name === 'string' ? user.name : null };
}
