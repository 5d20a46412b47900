import { type BackoffPolicy, backoffMs, type Logger } from '@telemy/protocol';
import type { ChatAuthStatus } from '../auth/token-source.js';
import type { Platform } from '../config.js';
import type { IncomingChatMessage } from '../pipeline.js';

export interface QuotaPace {
  poll_interval_ms: number;
  /** When the quota left runs out at this pace; null when it lasts until the daily reset. */
  lasts_until_ms: number | null;
  /** Next midnight Pacific Time, when Google restores the daily quota. */
  resets_at_ms: number;
}

/** What the dock shows per platform. Never carries a token. */
export interface ChatPlatformState {
  platform: Platform;
  connected: boolean;
  channel: string;
  read_only: boolean;
  /** Why the connection is read-only or down, in one line. */
  note: string | null;
  /** YouTube only: quota units left today (as tracked locally). */
  quota_remaining?: number;
  /** YouTube only, while reading chat: the steady poll pace and how long the quota lasts at it. */
  quota_pace?: QuotaPace | null;
  reconnects: number;
  /** Which credentials the platform runs on (signed in, pasted, none, revoked); never a token. */
  auth?: ChatAuthStatus;
}

export const DEFAULT_RECONNECT: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

export interface AdapterDeps {
  getSecret: (key: string) => Promise<string | null>;
  /** Saves refreshed tokens; without it a refresh lasts until the engine stops. */
  setSecret?: (key: string, value: string) => Promise<void>;
  onMessage: (msg: IncomingChatMessage) => void;
  onState: (state: ChatPlatformState) => void;
  log: Logger;
  reconnect?: BackoffPolicy;
}

export interface ChatAdapter {
  readonly platform: Platform;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Sends one message to the channel; resolves false when read-only or not connected. */
  send(text: string): Promise<boolean>;
  state(): ChatPlatformState;
}

/** Reconnect timer with capped backoff shared by the adapters. */
export class Reconnector {
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  stopped = false;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly connect: () => void,
  ) {}

  /** Schedules the next attempt unless one is pending or the adapter stopped. Returns the delay. */
  schedule(): number | null {
    if (this.stopped || this.timer) return null;
    const delay = backoffMs(this.policy, this.attempt++, Math.random);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
    return delay;
  }

  succeeded(): void {
    this.attempt = 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
