import type { Logger } from '@telemy/protocol';
import type { Db, Subscription } from '../db/types.js';
import { ALL_USERS, USER_CHANGED_CHANNEL } from '../db/user-changes.js';
import type { UserStateCache } from './user-state-cache.js';

/** Waits before subscribing again after a failure: the n-th retry waits the n-th value (the last one thereafter). */
const RETRY_DELAYS_MS = [100, 500, 2_000, 10_000];

/**
 * Keeps `cache` in step with the database's user-change notifications. The cache is enabled only
 * while the subscription is live: it starts disabled, is enabled (empty) once `LISTEN` is in place,
 * and is disabled again the moment the subscription is lost, since changes made meanwhile would go
 * unseen. Lost or failed subscriptions are retried with growing delays; meanwhile every request
 * reads the database, as it would without a cache.
 */
export class UserChangeFollower {
  private subscription: Subscription | null = null;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly cache: UserStateCache,
    private readonly log: Logger,
    /** Told when the cache is turned on (subscribed) and off. */
    private readonly onSwitch: (on: boolean) => void = () => {},
  ) {}

  /** Resolves once the first attempt to subscribe has ended (the cache is enabled if it worked). */
  start(): Promise<void> {
    return this.subscribe();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.cache.disable();
    this.onSwitch(false);
    const sub = this.subscription;
    this.subscription = null;
    // Closing after the database was closed (or lost) has nothing left to undo.
    await sub?.close().catch(() => {});
  }

  private async subscribe(): Promise<void> {
    this.retry = null;
    let sub: Subscription | null = null;
    let lostEarly = false;
    try {
      sub = await this.db.listen(
        USER_CHANGED_CHANNEL,
        (payload) => (payload === ALL_USERS ? this.cache.clear() : this.cache.invalidate(payload)),
        (err) => {
          if (sub === null) lostEarly = true;
          else this.lost(sub, err);
        },
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot follow user changes; the user cache stays off');
      this.scheduleRetry();
      return;
    }
    if (this.stopped || lostEarly) {
      await sub.close();
      this.scheduleRetry();
      return;
    }
    this.subscription = sub;
    this.failures = 0;
    this.cache.enable();
    this.onSwitch(true);
  }

  private lost(sub: Subscription, err: Error): void {
    if (this.subscription !== sub) return;
    this.subscription = null;
    this.cache.disable();
    this.onSwitch(false);
    this.log.warn(
      { err: err.message },
      'lost the user-change subscription; the user cache is off until it is back',
    );
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)]!;
    this.failures += 1;
    this.retry = setTimeout(() => void this.subscribe(), delay);
    this.retry.unref();
  }
}
