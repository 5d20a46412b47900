import type { AccessTokenMaybeWithUserId, AccessTokenWithUserId, AuthProvider } from '@twurple/auth';
import type { TokenSource } from './token-source.js';

/**
 * twurple's ChatClient asks its AuthProvider for the token at every (re)connect and asks it to
 * refresh when Twitch refuses one. This provider answers from the TokenSource, so Twitch follows
 * the same refresh rule, endpoint and vault entry as the other platforms; twurple's own
 * RefreshingAuthProvider would refresh only an already expired token, against a fixed endpoint.
 */
export class TokenSourceAuthProvider implements AuthProvider {
  readonly clientId = '';
  readonly authorizationType = 'OAuth';

  constructor(private readonly source: TokenSource) {}

  getCurrentScopesForUser(): string[] {
    return this.source.status().scopes;
  }

  async getAccessTokenForUser(): Promise<AccessTokenWithUserId | null> {
    return this.token(await this.source.accessToken());
  }

  async getAccessTokenForIntent(): Promise<AccessTokenWithUserId | null> {
    return this.token(await this.source.accessToken());
  }

  async getAnyAccessToken(): Promise<AccessTokenMaybeWithUserId> {
    const t = this.token(await this.source.accessToken());
    if (!t) throw new Error('no Twitch token');
    return t;
  }

  async refreshAccessTokenForUser(): Promise<AccessTokenWithUserId> {
    const t = this.token(await this.source.rejected());
    if (!t) throw new Error('the Twitch token could not be refreshed');
    return t;
  }

  async refreshAccessTokenForIntent(): Promise<AccessTokenWithUserId> {
    return this.refreshAccessTokenForUser();
  }

  private token(accessToken: string | null): AccessTokenWithUserId | null {
    if (!accessToken) return null;
    const s = this.source.status();
    const now = Date.now();
    return {
      accessToken,
      refreshToken: null,
      scope: s.scopes,
      // twurple judges expiry on its own clock: the remaining lifetime, counted from now.
      expiresIn: s.expires_at_ms === null ? null : Math.max(0, Math.floor((s.expires_at_ms - now) / 1000)),
      obtainmentTimestamp: now,
      userId: '',
    };
  }
}
