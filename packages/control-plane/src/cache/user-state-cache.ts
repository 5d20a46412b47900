import type { SessionRow } from '../store/sessions.js';
import type { ConsumedParts } from '../store/usage.js';
import type { UserRow } from '../store/users.js';

/** What the client routes read about a user: the row, the live session, the stored cycle's usage. */
export interface UserState {
  user: UserRow;
  /** The provisioning/active/grace session with its relay instance and latest health report. */
  live: SessionRow | null;
  /** Consumption of the sessions activated in the user's stored cycle (`cycle_start_at`..`cycle_end_at`). */
  consumed: ConsumedParts;
}

export const DEFAULT_USER_STATE_CACHE_SIZE = 10_000;
/**
 * The longest an entry is served. Notifications keep entries current; this bounds the harm of one
 * that never comes while the subscription looks alive (a connection the network silently dropped
 * stays open until TCP keepalive gives up on it), at the cost of one read per user per period.
 */
export const DEFAULT_USER_STATE_MAX_AGE_MS = 30_000;

/**
 * One process's copy of users' `UserState`, so that a polled route answers without a database round
 * trip. An entry is dropped when the database says the user changed (`invalidate`, from the
 * `telemy_user_changed` notification every write to the underlying tables sends, and from this
 * process's own writes at once). While the process is not subscribed to those notifications the
 * cache is disabled: it holds nothing and stores nothing, and every request reads the database.
 *
 * A read that was in flight when its user changed must not store what it read (it may predate the
 * change): `beginRead` hands out a ticket, and `fill` refuses a user invalidated (or a cache cleared)
 * after that ticket was issued. Invalidation times are kept only as long as a read that could need
 * them is open. An entry older than `maxAgeMs` is not served.
 */
export class UserStateCache {
  private readonly entries = new Map<string, { state: UserState; storedAtMs: number }>();
  /** Bumped by every invalidation; a read's ticket is its value when the read began. */
  private version = 0;
  private clearedAt = 0;
  private readonly invalidatedAt = new Map<string, number>();
  private readonly openReads = new Map<number, number>();
  private enabled = false;

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly maxEntries: number = DEFAULT_USER_STATE_CACHE_SIZE,
    private readonly maxAgeMs: number = DEFAULT_USER_STATE_MAX_AGE_MS,
  ) {}

  get(userId: string): UserState | undefined {
    const entry = this.entries.get(userId);
    if (!entry) return undefined;
    if (this.clock() - entry.storedAtMs < this.maxAgeMs) return entry.state;
    this.entries.delete(userId);
    return undefined;
  }

  beginRead(): number {
    this.openReads.set(this.version, (this.openReads.get(this.version) ?? 0) + 1);
    return this.version;
  }

  /** Stores `state` read under `ticket`, unless the user changed since; returns whether it did. */
  fill(userId: string, state: UserState, ticket: number): boolean {
    if (!this.enabled || this.clearedAt > ticket || (this.invalidatedAt.get(userId) ?? 0) > ticket)
      return false;
    this.entries.delete(userId);
    this.entries.set(userId, { state, storedAtMs: this.clock() });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return true;
  }

  endRead(ticket: number): void {
    const open = (this.openReads.get(ticket) ?? 0) - 1;
    if (open > 0) {
      this.openReads.set(ticket, open);
      return;
    }
    this.openReads.delete(ticket);
    // Tickets are issued in increasing order, so the first open one is the oldest.
    const oldest = this.openReads.keys().next().value ?? this.version;
    for (const [userId, at] of this.invalidatedAt) if (at <= oldest) this.invalidatedAt.delete(userId);
  }

  invalidate(userId: string): void {
    this.version += 1;
    this.entries.delete(userId);
    if (this.openReads.size > 0) this.invalidatedAt.set(userId, this.version);
  }

  /** Every user changed (a notification of `*`, or notifications that may have been lost). */
  clear(): void {
    this.version += 1;
    this.clearedAt = this.version;
    this.entries.clear();
    this.invalidatedAt.clear();
  }

  /** Subscribed to change notifications: start caching from empty. */
  enable(): void {
    this.clear();
    this.enabled = true;
  }

  /** Not subscribed (any more): forget everything and cache nothing until `enable`. */
  disable(): void {
    this.clear();
    this.enabled = false;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  get size(): number {
    return this.entries.size;
  }
}
