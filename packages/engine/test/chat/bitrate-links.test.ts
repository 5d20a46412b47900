import type { RelayLink } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { bondedLinksLine, executeInvocation, parseInvocation } from '../../src/chat/commands.js';
import { defaultConfig } from '../../src/config/index.js';
import { engineChatActions } from '../../src/control/chat-actions.js';
import type { EngineStatusSummary } from '../../src/control/status-summary.js';

function link(over: Partial<RelayLink>): RelayLink {
  return {
    link_id: 'l1',
    label: 'modem',
    source_ip: '10.0.0.5',
    protocol: 'srtla',
    status: 'active',
    bitrate_kbps: 3100,
    rtt_ms: 40,
    packet_loss_pct: 0,
    jitter_ms: null,
    connected_at: null,
    ...over,
  };
}

const twoModems = [
  link({ link_id: 'a', source_ip: '10.0.0.5', bitrate_kbps: 3100 }),
  link({ link_id: 'b', source_ip: '10.0.0.6', bitrate_kbps: 2860 }),
];

describe('!bitrate per bonded link', () => {
  it("names each SRTLA link by its address with the relay's bitrate on it", () => {
    expect(bondedLinksLine(twoModems)).toBe('2 links: 10.0.0.5 3.1 Mb/s, 10.0.0.6 2.9 Mb/s');
    expect(bondedLinksLine([link({ bitrate_kbps: 0 })])).toBe('1 link: 10.0.0.5 0.0 Mb/s');
  });

  it('a dropped link is down; a link without an address goes by its label, else its id', () => {
    const links = [
      ...twoModems,
      link({ link_id: 'c', source_ip: '10.0.0.7', status: 'disconnected', bitrate_kbps: 0 }),
      link({ link_id: 'd', source_ip: null, label: 'wifi', bitrate_kbps: 1250 }),
      link({ link_id: 'e', source_ip: null, label: '', bitrate_kbps: 500 }),
    ];
    expect(bondedLinksLine(links)).toBe(
      '5 links: 10.0.0.5 3.1 Mb/s, 10.0.0.6 2.9 Mb/s, 10.0.0.7 down, wifi 1.3 Mb/s, e 0.5 Mb/s',
    );
  });

  it('nothing to add without bonding: no relay links, or a plain SRT sender', () => {
    expect(bondedLinksLine([])).toBeNull();
    expect(bondedLinksLine([link({ protocol: 'srt' })])).toBeNull();
  });

  it('the chat reply: the sources, then the links while the relay bonds', async () => {
    const status = {
      sources: [
        {
          name: 'relay',
          classification: 'normal',
          bitrate_kbps: 5960,
          rtt_ms: 40,
          loss_pct: 0,
          reason: null,
        },
      ],
    } as unknown as EngineStatusSummary;
    let links: RelayLink[] = twoModems;
    const actions = engineChatActions({
      control: {} as never,
      store: {} as never,
      scenes: () => [],
      status: () => status,
      relayLinks: () => links,
    });
    const inv = parseInvocation('bitrate', [], defaultConfig().chat);
    if ('error' in inv) throw new Error(inv.error);
    const source = { kind: 'chat', platform: 'twitch', user_name: 'viewer', request_id: 'r' } as const;
    expect(await executeInvocation(inv, actions, source, '')).toEqual({
      ok: true,
      reply: 'relay: 5960 kb/s, RTT 40 ms (normal) | 2 links: 10.0.0.5 3.1 Mb/s, 10.0.0.6 2.9 Mb/s',
    });
    links = [];
    expect(await executeInvocation(inv, actions, source, '')).toEqual({
      ok: true,
      reply: 'relay: 5960 kb/s, RTT 40 ms (normal)',
    });
  });
});
