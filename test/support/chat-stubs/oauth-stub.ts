import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One platform's OAuth server on loopback, in that platform's dialect: Twitch (`/oauth2/device`,
 * `/oauth2/token`, `/oauth2/validate`; errors as `{status, message}`), Google (`/device/code`,
 * `/token`; errors as `{error}`) or Kick (`/oauth/authorize` redirecting with a code, `/oauth/token`,
 * PKCE S256 checked). Access tokens live `accessTtlS` seconds; refresh tokens rotate on use except
 * Google's, as the platforms do; `revokeAll()` makes every refresh token fail with invalid_grant.
 * The device flow is approved at the second poll (the first one is "authorization_pending").
 */

export type OAuthStubPlatform = 'twitch' | 'google' | 'kick';

export interface OAuthStubOptions {
  platform: OAuthStubPlatform;
  clientId: string;
  /** Required at the token endpoint when set. */
  clientSecret?: string;
  accessTtlS: number;
  account: string;
  host?: string;
}

interface Grant {
  code_challenge?: string;
  redirect_uri?: string;
  scopes: string[];
}

export class OAuthStub {
  /** Grant types the token endpoint was asked for, in order. */
  readonly grants: string[] = [];
  private readonly access = new Map<string, { expiresAt: number; scopes: string[] }>();
  private readonly refresh = new Map<string, string[]>();
  private readonly devices = new Map<string, { polls: number; scopes: string[] }>();
  private readonly codes = new Map<string, Grant>();
  private readonly server: http.Server;
  private readonly host: string;
  port = 0;

  constructor(private readonly opts: OAuthStubOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, this.host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** What `auth_host` points at for this platform. */
  get authHost(): string {
    return this.opts.platform === 'twitch' ? `${this.url}/oauth2` : this.url;
  }

  /** Whether an access token was issued here and has not expired. */
  valid(token: string): boolean {
    const t = this.access.get(token);
    return t !== undefined && Date.now() < t.expiresAt;
  }

  /** Access tokens issued so far, oldest first. */
  issued(): string[] {
    return [...this.access.keys()];
  }

  /** Every refresh token stops working, as when the user removes the app's access. */
  revokeAll(): void {
    this.refresh.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private issue(scopes: string[], withRefresh: string | null): Record<string, unknown> {
    const accessToken = `at-${randomBytes(12).toString('hex')}`;
    this.access.set(accessToken, { expiresAt: Date.now() + this.opts.accessTtlS * 1000, scopes });
    let refreshToken = withRefresh;
    if (refreshToken === null) {
      refreshToken = `rt-${randomBytes(12).toString('hex')}`;
      this.refresh.set(refreshToken, scopes);
    }
    const body: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: this.opts.accessTtlS,
      token_type: 'bearer',
      scope: this.opts.platform === 'twitch' ? scopes : scopes.join(' '),
    };
    // Google answers a refresh without a new refresh token; the others rotate it.
    if (!(this.opts.platform === 'google' && withRefresh !== null)) body.refresh_token = refreshToken;
    return body;
  }

  private error(res: http.ServerResponse, status: number, code: string): null {
    const body = this.opts.platform === 'twitch' ? { status, message: code } : { error: code };
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return null;
  }

  private json(res: http.ServerResponse, body: unknown): null {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return null;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const p = this.opts.platform;
    const path = p === 'twitch' ? url.pathname.replace(/^\/oauth2/, '') : url.pathname;
    if (req.method === 'GET' && p === 'twitch' && path === '/validate') return this.validate(req, res);
    if (req.method === 'GET' && p === 'kick' && path === '/oauth/authorize') return this.authorize(url, res);
    if (
      req.method === 'POST' &&
      ((p === 'twitch' && path === '/device') || (p === 'google' && path === '/device/code'))
    )
      return this.device(form, res);
    if (req.method === 'POST' && (path === '/token' || (p === 'kick' && path === '/oauth/token')))
      return this.token(form, res);
    res.writeHead(404).end();
    return null;
  }

  private validate(req: http.IncomingMessage, res: http.ServerResponse) {
    const token = (req.headers.authorization ?? '').replace(/^(OAuth|Bearer) /i, '');
    const t = this.access.get(token);
    if (!t || !this.valid(token)) return this.error(res, 401, 'invalid access token');
    return this.json(res, {
      client_id: this.opts.clientId,
      login: this.opts.account,
      user_id: '4242',
      scopes: t.scopes,
      expires_in: Math.round((t.expiresAt - Date.now()) / 1000),
    });
  }

  private authorize(url: URL, res: http.ServerResponse) {
    const q = url.searchParams;
    const redirect = q.get('redirect_uri');
    if (q.get('client_id') !== this.opts.clientId || !redirect || q.get('code_challenge_method') !== 'S256')
      return this.error(res, 400, 'invalid_request');
    const code = `code-${randomBytes(8).toString('hex')}`;
    this.codes.set(code, {
      code_challenge: q.get('code_challenge') ?? '',
      redirect_uri: redirect,
      scopes: (q.get('scope') ?? '').split(' ').filter(Boolean),
    });
    const back = new URL(redirect);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state') ?? '');
    res.writeHead(302, { location: back.toString() }).end();
    return null;
  }

  private device(form: URLSearchParams, res: http.ServerResponse) {
    if (form.get('client_id') !== this.opts.clientId) return this.error(res, 400, 'invalid_client');
    const deviceCode = `dc-${randomBytes(8).toString('hex')}`;
    const scopes = (form.get('scopes') ?? form.get('scope') ?? '').split(' ').filter(Boolean);
    this.devices.set(deviceCode, { polls: 0, scopes });
    // Google names the page `verification_url`, Twitch (as RFC 8628) `verification_uri`.
    const verification = this.opts.platform === 'google' ? 'verification_url' : 'verification_uri';
    return this.json(res, {
      device_code: deviceCode,
      user_code: 'ABCD-EFGH',
      [verification]: `${this.url}/activate`,
      expires_in: 600,
      interval: 1,
    });
  }

  private token(form: URLSearchParams, res: http.ServerResponse) {
    const grant = form.get('grant_type') ?? '';
    this.grants.push(grant);
    if (form.get('client_id') !== this.opts.clientId) return this.error(res, 400, 'invalid_client');
    if (this.opts.clientSecret !== undefined && form.get('client_secret') !== this.opts.clientSecret)
      return this.error(res, 401, 'invalid_client');
    if (grant === 'refresh_token') {
      const old = form.get('refresh_token') ?? '';
      const scopes = this.refresh.get(old);
      if (!scopes)
        return this.error(
          res,
          400,
          this.opts.platform === 'twitch' ? 'Invalid refresh token' : 'invalid_grant',
        );
      if (this.opts.platform === 'google') return this.json(res, this.issue(scopes, old));
      this.refresh.delete(old);
      return this.json(res, this.issue(scopes, null));
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
      const d = this.devices.get(form.get('device_code') ?? '');
      if (!d) return this.error(res, 400, 'invalid device code');
      if (d.polls++ === 0)
        return this.error(res, this.opts.platform === 'google' ? 428 : 400, 'authorization_pending');
      this.devices.delete(form.get('device_code') ?? '');
      return this.json(res, this.issue(d.scopes, null));
    }
    if (grant === 'authorization_code') {
      const g = this.codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!g || g.code_challenge !== challenge || g.redirect_uri !== form.get('redirect_uri'))
        return this.error(res, 400, 'invalid_grant');
      this.codes.delete(form.get('code') ?? '');
      return this.json(res, this.issue(g.scopes, null));
    }
    return this.error(res, 400, 'unsupported_grant_type');
  }
}
