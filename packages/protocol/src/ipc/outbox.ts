import type { IpcMessage, Priority } from './messages.js';

/**
 * The writer's four priority lanes, as pure data over an injected clock.
 *
 * - `shift()` always takes from the highest non-empty lane, FIFO within a lane, so `switch_scene`
 *   (critical) is never reordered and is the next message written whatever is queued below it.
 * - Pressure: when low+normal hold `lowNormalCapacity` messages, the oldest `low` is dropped, and
 *   only when no `low` is left the oldest `normal`. An incoming `low` with nothing older to evict
 *   is itself the drop.
 * - `high` (pongs, acks, notices) is bounded by `highCapacity`, dropping its oldest; it only grows
 *   when the peer stops reading, and then the link goes stale anyway.
 * - `critical` is never dropped; each entry carries a deadline and `takeOverdue()` reports a
 *   critical message still queued past it (once), for the degraded-mode alert.
 * - `status_snapshot` coalesces: a newer one replaces the queued one in place.
 */

export interface OutboxEntry {
  message: IpcMessage;
  lane: Priority;
  enqueuedAt: number;
  /** Absolute time by which a critical message must be written. */
  deadlineAt: number | null;
}

export interface PriorityOutboxOptions {
  now: () => number;
  lowNormalCapacity?: number;
  highCapacity?: number;
  /** Deadline for a critical message without its own (`switch_scene` uses `deadline_ms`). */
  defaultCriticalDeadlineMs?: number;
  onDrop?: (lane: Priority, message: IpcMessage) => void;
}

const LANE_ORDER: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

export class PriorityOutbox {
  readonly dropped: Record<Priority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
  coalesced = 0;
  private readonly lanes: Record<Priority, OutboxEntry[]> = { critical: [], high: [], normal: [], low: [] };
  private readonly reportedOverdue = new WeakSet<OutboxEntry>();
  private queuedSnapshot: OutboxEntry | null = null;
  private readonly now: () => number;
  private readonly lowNormalCapacity: number;
  private readonly highCapacity: number;
  private readonly defaultCriticalDeadlineMs: number;
  private readonly onDrop: ((lane: Priority, message: IpcMessage) => void) | undefined;

  constructor(opts: PriorityOutboxOptions) {
    this.now = opts.now;
    this.lowNormalCapacity = opts.lowNormalCapacity ?? 1024;
    this.highCapacity = opts.highCapacity ?? 256;
    this.defaultCriticalDeadlineMs = opts.defaultCriticalDeadlineMs ?? 1000;
    this.onDrop = opts.onDrop;
  }

  get size(): number {
    return LANE_ORDER.reduce((n, lane) => n + this.lanes[lane].length, 0);
  }

  sizeOf(lane: Priority): number {
    return this.lanes[lane].length;
  }

  push(message: IpcMessage): void {
    const lane = message.priority;
    const now = this.now();
    if (message.type === 'status_snapshot' && this.queuedSnapshot?.lane === lane) {
      this.queuedSnapshot.message = message;
      this.coalesced += 1;
      return;
    }
    const entry: OutboxEntry = { message, lane, enqueuedAt: now, deadlineAt: null };
    if (message.type === 'status_snapshot') this.queuedSnapshot = entry;
    if (lane === 'critical') {
      const deadlineMs =
        message.type === 'switch_scene' ? message.payload.deadline_ms : this.defaultCriticalDeadlineMs;
      entry.deadlineAt = now + deadlineMs;
      this.lanes.critical.push(entry);
      return;
    }
    if (lane === 'high') {
      if (this.lanes.high.length >= this.highCapacity) this.dropOldest('high');
      this.lanes.high.push(entry);
      return;
    }
    if (this.lanes.low.length + this.lanes.normal.length >= this.lowNormalCapacity) {
      if (this.lanes.low.length > 0) this.dropOldest('low');
      else if (lane === 'normal') this.dropOldest('normal');
      else {
        this.count('low', message);
        return;
      }
    }
    this.lanes[lane].push(entry);
  }

  /** The next entry to write: highest lane first, oldest first within it. */
  shift(): OutboxEntry | undefined {
    for (const lane of LANE_ORDER) {
      const entry = this.lanes[lane].shift();
      if (entry) {
        if (entry === this.queuedSnapshot) this.queuedSnapshot = null;
        return entry;
      }
    }
    return undefined;
  }

  /** Critical entries still queued past their deadline, each reported once. */
  takeOverdue(): OutboxEntry[] {
    const now = this.now();
    const overdue: OutboxEntry[] = [];
    for (const e of this.lanes.critical) {
      if (e.deadlineAt !== null && now > e.deadlineAt && !this.reportedOverdue.has(e)) {
        this.reportedOverdue.add(e);
        overdue.push(e);
      }
    }
    return overdue;
  }

  /** Empties every lane (session closed) and returns what was pending, critical first. */
  drain(): OutboxEntry[] {
    const all: OutboxEntry[] = [];
    for (let e = this.shift(); e; e = this.shift()) all.push(e);
    return all;
  }

  private dropOldest(lane: Priority): void {
    const e = this.lanes[lane].shift();
    if (!e) return;
    if (e === this.queuedSnapshot) this.queuedSnapshot = null;
    this.count(lane, e.message);
  }

  private count(lane: Priority, message: IpcMessage): void {
    this.dropped[lane] += 1;
    this.onDrop?.(lane, message);
  }
}
