import { describe, expect, it } from 'vitest';
import { type FeedEvent, FeedSelector } from '../src/feed-selector.js';

function packet(sel: FeedSelector, link: string, now: number): { forward: boolean; events: FeedEvent[] } {
  const events: FeedEvent[] = [];
  return { forward: sel.packet(link, now, events), events };
}

describe('FeedSelector', () => {
  it('forwards the first link that delivers and reports ingest resumed once', () => {
    const sel = new FeedSelector(['link1', 'link2']);
    expect(sel.forwarded).toBeNull();
    expect(packet(sel, 'link2', 10)).toEqual({
      forward: true,
      events: [{ type: 'ingest', state: 'resumed', link_id: 'link2', at: 10 }],
    });
    expect(packet(sel, 'link2', 20)).toEqual({ forward: true, events: [] });
    expect(packet(sel, 'link1', 25)).toEqual({ forward: false, events: [] });
    expect(sel.forwarded).toBe('link2');
  });

  it('fails over to a live link when the forwarded one stalls, without a stall event', () => {
    const sel = new FeedSelector(['link1', 'link2']);
    packet(sel, 'link1', 0);
    packet(sel, 'link2', 1);
    expect(sel.stalled('link1', 300)).toEqual([
      { type: 'link_failover', from: 'link1', to: 'link2', at: 300 },
    ]);
    expect(sel.forwarded).toBe('link2');
    expect(sel.ingestActive).toBe(true);
    expect(packet(sel, 'link1', 400).forward).toBe(false);
  });

  it('reports the feed stalled when no other link is live, and resumed on the next packet', () => {
    const sel = new FeedSelector(['link1', 'link2']);
    packet(sel, 'link1', 0);
    expect(sel.stalled('link1', 300)).toEqual([
      { type: 'ingest', state: 'stalled', link_id: 'link1', at: 300 },
    ]);
    expect(sel.ingestActive).toBe(false);
    expect(sel.forwarded).toBeNull();
    expect(packet(sel, 'link2', 500).events).toEqual([
      { type: 'ingest', state: 'resumed', link_id: 'link2', at: 500 },
    ]);
    expect(sel.forwarded).toBe('link2');
  });

  it('ignores stalls of links it is not forwarding', () => {
    const sel = new FeedSelector(['link1', 'link2']);
    packet(sel, 'link1', 0);
    packet(sel, 'link2', 0);
    expect(sel.stalled('link2', 300)).toEqual([]);
    expect(sel.isLive('link2')).toBe(false);
    expect(sel.stalled('link1', 310)).toEqual([
      { type: 'ingest', state: 'stalled', link_id: 'link1', at: 310 },
    ]);
  });
});
