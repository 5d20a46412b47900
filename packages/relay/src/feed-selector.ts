/**
 * Which ingest link feeds the egress (relay-side link failover). Pure: the agent
 * reports packets and stalls (its per-link timers fire after `stall_after_ms` without a packet)
 * and publishes the events returned.
 */
export type FeedEvent =
  | { type: 'ingest'; state: 'stalled' | 'resumed'; link_id: string; at: number }
  | { type: 'link_failover'; from: string; to: string; at: number };

export class FeedSelector {
  private readonly order: string[];
  private readonly live = new Set<string>();
  private current: string | null = null;
  private feedStalled = true;

  constructor(linkIds: string[]) {
    this.order = [...linkIds];
  }

  /** The link whose packets go to the egress (null until the first packet). */
  get forwarded(): string | null {
    return this.feedStalled ? null : this.current;
  }

  get ingestActive(): boolean {
    return !this.feedStalled;
  }

  isLive(linkId: string): boolean {
    return this.live.has(linkId);
  }

  /** A packet arrived on `linkId`; returns true when it must be forwarded. */
  packet(linkId: string, now: number, events: FeedEvent[]): boolean {
    this.live.add(linkId);
    if (this.feedStalled) {
      this.current = linkId;
      this.feedStalled = false;
      events.push({ type: 'ingest', state: 'resumed', link_id: linkId, at: now });
    }
    return this.current === linkId;
  }

  /** `linkId` has been silent for the stall window. */
  stalled(linkId: string, now: number): FeedEvent[] {
    this.live.delete(linkId);
    if (this.feedStalled || this.current !== linkId) return [];
    const next = this.order.find((id) => id !== linkId && this.live.has(id));
    if (next) {
      this.current = next;
      return [{ type: 'link_failover', from: linkId, to: next, at: now }];
    }
    this.feedStalled = true;
    return [{ type: 'ingest', state: 'stalled', link_id: linkId, at: now }];
  }
}
