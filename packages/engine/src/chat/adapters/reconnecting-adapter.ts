import type { ChatOAuthConfig } from '../auth/platforms.js';
import { TokenSource } from '../auth/token-source.js';
import type { Platform } from '../config.js';
import {
  type AdapterDeps,
  type ChatAdapter,
  type ChatPlatformState,
  DEFAULT_RECONNECT,
  Reconnector,
} from './types.js';

/**
 * What every chat adapter shares: the published state (each change goes to `onState` as a copy), the
 * reconnect loop with backoff, the platform's access token (`auth`, refreshed on its own), and
 * start/stop around the platform's own `connect` and `teardown`.
 */
export abstract class ReconnectingChatAdapter implements ChatAdapter {
  abstract readonly platform: Platform;
  protected readonly reconnector: Reconnector;
  protected current: ChatPlatformState;
  protected readonly auth: TokenSource;

  constructor(
    protected readonly deps: AdapterDeps,
    initial: ChatPlatformState,
    authConfig: (ChatOAuthConfig & { token_key?: string }) | undefined,
  ) {
    this.current = initial;
    this.reconnector = new Reconnector(deps.reconnect ?? DEFAULT_RECONNECT, () => void this.connect());
    this.auth = new TokenSource({
      platform: initial.platform,
      config: authConfig,
      getSecret: deps.getSecret,
      ...(deps.setSecret ? { setSecret: deps.setSecret } : {}),
      log: deps.log,
      onChange: () => this.deps.onState(this.state()),
    });
  }

  abstract send(text: string): Promise<boolean>;

  state(): ChatPlatformState {
    return { ...this.current, auth: this.auth.status() };
  }

  async start(): Promise<void> {
    this.reconnector.stopped = false;
    this.auth.start();
    await this.connect();
  }

  async stop(): Promise<void> {
    this.reconnector.stop();
    this.auth.stop();
    this.teardown();
    this.update({ connected: false, note: 'stopped' });
  }

  protected update(patch: Partial<ChatPlatformState>): void {
    this.current = { ...this.current, ...patch };
    this.deps.onState(this.state());
  }

  /** Why there is no token: a revoked sign-in says what to do, otherwise `fallback`. */
  protected noTokenNote(fallback: string): string {
    return this.auth.status().kind === 'revoked'
      ? `sign in again: \`telemy chat login ${this.platform}\` (the platform refused the saved sign-in)`
      : fallback;
  }

  /** Drops the connection and schedules the next attempt (one at a time), counted in the state. */
  protected retry(note: string): void {
    this.teardown();
    if (this.reconnector.stopped) return;
    const delay = this.reconnector.schedule();
    if (delay !== null) {
      this.update({ connected: false, note, reconnects: this.current.reconnects + 1 });
      this.deps.log.warn(
        { channel: this.current.channel, delay_ms: delay, reason: note },
        `${this.platform} chat: reconnecting`,
      );
    }
  }

  /** One connection attempt; failures end in `retry`. */
  protected abstract connect(): Promise<void>;

  /** Closes whatever the last attempt opened; safe to call when nothing is open. */
  protected abstract teardown(): void;
}
