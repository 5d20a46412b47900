/**
 * Rate-limit counts taken from the shared counter ahead of need. The counter of a (bucket, window)
 * lives in the database so that every replica enforces one limit. Raising it once per
 * request costs every request a database round trip; instead a replica raises it by what its waiting
 * requests need plus a block (`leaseBlock`), and hands the spare positions to its next requests. The
 * k-th position of a window is allowed when k ≤ limit, exactly as one increment per request would be,
 * so across replicas the limit still holds: no position is handed out twice and the counter is never
 * below what was handed out.
 *
 * The price, with several replicas: positions a replica holds unused are counted already, so another
 * replica may refuse up to a block (at most a tenth of the limit) per other replica before the limit
 * is really reached, and the `X-RateLimit-Remaining` a replica reports does not see what the others
 * hold. With one replica it is exact.
 */

/**
 * The largest block: a replica never holds more than a tenth of the limit unused. Under 10 that is
 * none: such a limit (`start`, 6 a minute) is counted exactly across replicas, one count per request.
 */
export function maxLeaseBlock(limit: number): number {
  return Math.floor(limit / 10);
}

/**
 * The spare counts to take with the next statement, given how many this replica already took in the
 * window: 10, or as many as it took so far when that is more (a busy bucket's blocks double, so it
 * needs a statement for its counts only every so often), never more than `maxLeaseBlock`. With the
 * default limits that is 6 for `/relay/active` (60 a minute), 3 for `/usage/current` (30), 2 for
 * `/relay/stop` (20) and none for `/relay/start` (6).
 */
export function leaseBlock(limit: number, takenThisWindow: number): number {
  return Math.min(maxLeaseBlock(limit), Math.max(10, takenThisWindow));
}

interface Lease {
  windowStartMs: number;
  /** Positions held, as [first, last] ranges in the order they were granted. */
  ranges: Array<[number, number]>;
  /** The highest count the database returned this window: once it reaches the limit, the window is used up. */
  highest: number;
  /** Positions granted to this replica this window. */
  taken: number;
}

export class RateLimitLeases {
  private readonly leases = new Map<string, Lease>();

  /**
   * The next position of the bucket's window this replica holds, or null when it holds none and the
   * counter must be raised. Past the limit every position is refused, so once the window's counter
   * has reached the limit positions keep coming (all over the limit) without the database.
   */
  take(bucket: string, windowStartMs: number, limit: number): number | null {
    const lease = this.leases.get(bucket);
    if (!lease || lease.windowStartMs !== windowStartMs) return null;
    const range = lease.ranges[0];
    if (range) {
      const position = range[0];
      if (range[0] === range[1]) lease.ranges.shift();
      else range[0] += 1;
      return position;
    }
    return lease.highest >= limit ? lease.highest + 1 : null;
  }

  /** Positions granted to this replica in the bucket's window so far (used or not). */
  taken(bucket: string, windowStartMs: number): number {
    const lease = this.leases.get(bucket);
    return lease && lease.windowStartMs === windowStartMs ? lease.taken : 0;
  }

  /** The counter was raised by `amount` to `total`: positions `total - amount + 1` … `total` are ours. */
  grant(bucket: string, windowStartMs: number, amount: number, total: number): void {
    let lease = this.leases.get(bucket);
    if (!lease || lease.windowStartMs !== windowStartMs) {
      lease = { windowStartMs, ranges: [], highest: 0, taken: 0 };
      this.leases.delete(bucket);
      this.leases.set(bucket, lease);
    }
    lease.ranges.push([total - amount + 1, total]);
    lease.taken += amount;
    lease.highest = Math.max(lease.highest, total);
  }

  /** Forgets every lease of a window that ended before `windowStartMs`. */
  dropBefore(windowStartMs: number): void {
    for (const [bucket, lease] of this.leases)
      if (lease.windowStartMs < windowStartMs) this.leases.delete(bucket);
  }
}
