/**
 * Rate-limit counts taken from the shared counter ahead of need. The counter of a (bucket, window)
 * lives in the database so that every replica enforces one limit (`30-` §7). Raising it once per
 * request costs every request a database round trip; instead a replica raises it by what its waiting
 * requests need plus a block (`leaseSize`), and hands the block's positions to its next requests. The k-th position of a window is allowed
 * when k ≤ limit, exactly as one increment per request would be, so across replicas the limit still
 * holds: no position is handed out twice and the counter is never below what was handed out.
 *
 * The price, with several replicas: positions a replica holds unused are counted already, so another
 * replica may refuse up to `leaseSize` requests per other replica before the limit is really
 * reached, and the `X-RateLimit-Remaining` a replica reports does not see what the others hold.
 * With one replica it is exact.
 */

/** The block size for a limit: a tenth of it, at least 1 and at most 10. */
export function leaseSize(limit: number): number {
  return Math.max(1, Math.min(10, Math.floor(limit / 10)));
}

interface Lease {
  windowStartMs: number;
  /** Positions held, as [first, last] ranges in the order they were granted. */
  ranges: Array<[number, number]>;
  /** The highest count the database returned this window: once it reaches the limit, the window is used up. */
  highest: number;
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

  /** Positions this replica holds in the bucket's window. */
  held(bucket: string, windowStartMs: number): number {
    const lease = this.leases.get(bucket);
    if (!lease || lease.windowStartMs !== windowStartMs) return 0;
    return lease.ranges.reduce((n, [first, last]) => n + last - first + 1, 0);
  }

  /** The counter was raised by `amount` to `total`: positions `total - amount + 1` … `total` are ours. */
  grant(bucket: string, windowStartMs: number, amount: number, total: number): void {
    let lease = this.leases.get(bucket);
    if (!lease || lease.windowStartMs !== windowStartMs) {
      lease = { windowStartMs, ranges: [], highest: 0 };
      this.leases.delete(bucket);
      this.leases.set(bucket, lease);
    }
    lease.ranges.push([total - amount + 1, total]);
    lease.highest = Math.max(lease.highest, total);
  }

  /** Forgets every lease of a window that ended before `windowStartMs`. */
  dropBefore(windowStartMs: number): void {
    for (const [bucket, lease] of this.leases)
      if (lease.windowStartMs < windowStartMs) this.leases.delete(bucket);
  }

  get size(): number {
    return this.leases.size;
  }
}
