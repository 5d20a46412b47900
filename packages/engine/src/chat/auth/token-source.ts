import type { Logger } from '@telemy/protocol';
import type { Platform } from '../config.js';
import { msUntilRefresh, refreshRetryMs } from './lifetime.js';
import { refreshGrant } from './oauth-http.js';
import { authHost, type ChatOAuthConfig, defaultClientSecretKey, oauthEntryName } from './platforms.js';
import { parseTokenRecord, serializeTokenRecord, type TokenRecord } from './token-record.js';

/**
 * - `none`: no token (read-only where the platform allows it);
 * - `pasted`: a token stored by hand under `token_key`: used as is, never refreshed;
 * - `oauth`: signed in with `telemy chat login`: refreshed before it expires;
 * - `revoked`: the platform refused the refresh token: nothing works until the next sign-in.
 */
export type ChatAuthKind = 'none' | 'pasted' | 'oauth' | 'revoked';

/** What the dock and the log may know about a platform's credentials. Never a token. */
export interface ChatAuthStatus {
  kind: ChatAuthKind;
  account: string | null;
  scopes: string[];
  expires_at_ms: number | null;
  /** Why the last refresh failed, while it is being retried or after a revocation. */
  problem: string | null;
}

export interface TokenSourceOptions {
  platform: Platform;
  config: (ChatOAuthConfig & { token_key?: string }) | undefined;
  getSecret: (key: string) => Promise<string | null>;
  /** Where refreshed tokens go; without it a refresh lives in memory only. */
  setSecret?: (key: string, value: string) => Promise<void>;
  now?: () => number;
  random?: () => number;
  log: Logger;
  /** Every change of `status()`. */
  onChange?: (status: ChatAuthStatus) => void;
}

/**
 * A platform's current access token. A signed-in token is refreshed by a timer before it expires
 * (`refreshDueAt`), and at once when the platform rejects it; a passing failure is retried with
 * backoff, a refused refresh token ends in `revoked`, which is saved so `telemy doctor` sees it.
 */
export class TokenSource {
  private loaded = false;
  private pasted: string | null = null;
  private record: TokenRecord | null = null;
  private problem: string | null = null;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** After a passing failure: no refresh before this, whoever asks (the backoff holds for callers too). */
  private retryAt: number | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: TokenSourceOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  status(): ChatAuthStatus {
    const r = this.record;
    if (r)
      return {
        kind: r.revoked_at_ms !== null ? 'revoked' : 'oauth',
        account: r.account,
        scopes: [...r.scopes],
        expires_at_ms: r.expires_at_ms,
        problem: this.problem,
      };
    return {
      kind: this.pasted ? 'pasted' : 'none',
      account: null,
      scopes: [],
      expires_at_ms: null,
      problem: null,
    };
  }

  /** The token to use now, refreshed first when it is due; null without a usable one. */
  async accessToken(): Promise<string | null> {
    await this.load();
    const r = this.record;
    if (!r) return this.pasted;
    if (r.revoked_at_ms !== null) return null;
    if (
      r.expires_at_ms !== null &&
      msUntilRefresh(r.obtained_at_ms, r.expires_at_ms, this.now()) === 0 &&
      this.mayTry()
    )
      await this.refresh();
    const now = this.record;
    return now && now.revoked_at_ms === null ? now.access_token : null;
  }

  /** The platform rejected the token: refresh it now (a pasted one cannot be). Resolves with the new token. */
  async rejected(): Promise<string | null> {
    await this.load();
    if (!this.record || this.record.revoked_at_ms !== null) return this.record ? null : this.pasted;
    if (this.mayTry()) await this.refresh();
    return this.record?.revoked_at_ms === null ? this.record.access_token : null;
  }

  /** Arms the refresh timer again after `stop()` (an adapter restarted). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    const { platform, config, log } = this.opts;
    try {
      this.record = parseTokenRecord(await this.opts.getSecret(oauthEntryName(platform)));
      if (!this.record && config?.token_key) this.pasted = await this.opts.getSecret(config.token_key);
    } catch (e) {
      log.warn({ err: e }, `${platform} chat: vault read failed`);
    }
    if (this.record && this.record.revoked_at_ms !== null) {
      log.error(
        `${platform} chat: the saved sign-in was revoked; sign in again with \`telemy chat login ${platform}\``,
      );
    } else if (this.record) {
      this.schedule();
    } else if (this.pasted) {
      log.warn(
        `${platform} chat: using the pasted token from the vault (${config?.token_key}); it cannot be refreshed and stops working when it expires — \`telemy chat login ${platform}\` signs in with a refreshing token`,
      );
    }
    this.changed();
  }

  /** One refresh at a time: callers during one share its outcome. */
  private refresh(): Promise<void> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async doRefresh(): Promise<void> {
    const r = this.record;
    if (!r || r.revoked_at_ms !== null) return;
    const { platform, config, log } = this.opts;
    const secret = await this.opts
      .getSecret(config?.client_secret_key ?? defaultClientSecretKey(platform))
      .catch(() => null);
    const result = await refreshGrant(platform, authHost(platform, config), r, secret, this.now);
    if (this.record !== r) return;
    if (result.ok) {
      this.attempt = 0;
      this.retryAt = null;
      this.problem = null;
      this.record = result.record;
      await this.save(result.record);
      log.info(
        { expires_at_ms: result.record.expires_at_ms, account: result.record.account },
        `${platform} chat: access token refreshed`,
      );
      this.schedule();
    } else if (result.failure === 'transient') {
      this.problem = `token refresh failed (${result.detail}); retrying`;
      const delay = refreshRetryMs(this.attempt++, this.random);
      this.retryAt = this.now() + delay;
      log.warn(
        { delay_ms: delay, reason: result.detail },
        `${platform} chat: token refresh failed, retrying`,
      );
      this.arm(delay);
    } else {
      const revoked: TokenRecord = { ...r, revoked_at_ms: this.now() };
      this.record = revoked;
      this.problem =
        result.failure === 'client'
          ? `the app's client id or secret was refused (${result.detail})`
          : `the refresh token was refused (${result.detail})`;
      await this.save(revoked);
      log.error(
        { reason: result.detail },
        `${platform} chat: sign-in revoked; sign in again with \`telemy chat login ${platform}\``,
      );
    }
    this.changed();
  }

  private mayTry(): boolean {
    return this.retryAt === null || this.now() >= this.retryAt;
  }

  private schedule(): void {
    const r = this.record;
    if (!r || r.expires_at_ms === null || r.revoked_at_ms !== null) return;
    this.arm(msUntilRefresh(r.obtained_at_ms, r.expires_at_ms, this.now()));
  }

  private arm(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delay);
    this.timer.unref();
  }

  private async save(record: TokenRecord): Promise<void> {
    if (!this.opts.setSecret) return;
    try {
      await this.opts.setSecret(oauthEntryName(this.opts.platform), serializeTokenRecord(record));
    } catch (e) {
      this.opts.log.error({ err: e }, `${this.opts.platform} chat: could not save the refreshed token`);
    }
  }

  private changed(): void {
    this.opts.onChange?.(this.status());
  }
}
