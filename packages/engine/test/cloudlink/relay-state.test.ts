import { describe, expect, it } from 'vitest';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';
import {
  feedLink,
  foldRelay,
  initialRelayState,
  type RelayEvent,
  type RelayState,
  relayUptimeSeconds,
} from '../../src/cloudlink/relay-state.js';
import { linkRow } from './support/fixtures.js';

const stats = (ingest_active: boolean, kbps: number, forwarded: string | null = 'l1') => ({
  type: 'stats' as const,
  ingest_active,
  egress_clients: 1,
  links: [linkRow(kbps)],
  bonded: { total_bitrate_kbps: kbps, active_link_count: 1, health: 'healthy' as const },
  forwarded_link_id: forwarded,
});

/** Folds the events in order at the given times; returns the last state and every signal. */
function run(events: [number, RelayEvent][], from: RelayState = initialRelayState()) {
  let state = from;
  const signals: RelaySignal[] = [];
  for (const [now, e] of events) {
    const step = foldRelay(state, e, 'ses_1', now);
    state = step.state;
    signals.push(...step.signals);
  }
  return { state, signals, kinds: signals.map((s) => s.kind) };
}

describe('foldRelay', () => {
  it('connect, then ingest active/inactive signalled on changes only', () => {
    const { state, kinds } = run([
      [1, { type: 'connected' }],
      [2, stats(true, 2000)],
      [3, stats(true, 2100)],
      [4, stats(false, 0)],
      [5, stats(false, 0)],
      [6, stats(true, 1900)],
    ]);
    expect(kinds).toEqual(['telemetry_connected', 'ingest_active', 'ingest_inactive', 'ingest_active']);
    expect(state).toMatchObject({
      connected: true,
      ingestActive: true,
      ingestState: 'flowing',
      telemetryLinks: true,
      egressClients: 1,
      lastMessageAt: 6,
      bonded: { total_bitrate_kbps: 1900 },
    });
  });

  it('a pushed stall stands through stats until the relay reports resumed, stamped with the arrival time', () => {
    const stalled = run([
      [1, { type: 'connected' }],
      [2, { type: 'ingest', state: 'stalled', link_id: 'l1', at: '2026-11-22T03:00:00Z' }],
      [3, stats(true, 2000)],
    ]);
    expect(stalled.signals[1]).toEqual({
      kind: 'ingest_stalled',
      session_id: 'ses_1',
      link_id: 'l1',
      at: '2026-11-22T03:00:00Z',
      received_at: 2,
    });
    expect(stalled.state.ingestState).toBe('stalled');
    const resumed = run(
      [[4, { type: 'ingest', state: 'resumed', link_id: 'l1', at: '2026-11-22T03:00:02Z' }]],
      stalled.state,
    );
    expect(resumed.kinds).toEqual(['ingest_resumed']);
    expect(resumed.state.ingestState).toBe('flowing');
  });

  it('signals a lost socket once, forgets the ingest, and a close by the engine only when connected', () => {
    const { state, signals } = run([
      [1, { type: 'connected' }],
      [2, stats(true, 2000)],
      [3, { type: 'disconnected', reason: 'closed (code 1006)' }],
      [4, { type: 'disconnected', reason: 'ECONNREFUSED' }],
      [5, { type: 'closed', reason: 'session ended' }],
    ]);
    expect(signals.slice(2)).toEqual([
      { kind: 'telemetry_disconnected', session_id: 'ses_1', reason: 'closed (code 1006)' },
    ]);
    expect(state).toMatchObject({ connected: false, ingestActive: null });
    const closed = run([[6, { type: 'closed', reason: 'engine closing' }]], { ...state, connected: true });
    expect(closed.signals).toEqual([
      { kind: 'telemetry_disconnected', session_id: 'ses_1', reason: 'engine closing' },
    ]);
  });

  it("takes the control plane's links only while telemetry is down", () => {
    const cp: RelayEvent = { type: 'control_plane', links: [linkRow(500)], bonded: null };
    expect(run([[1, cp]]).state.links).toEqual([linkRow(500)]);
    const up = run([
      [1, { type: 'connected' }],
      [2, stats(true, 2000)],
      [3, cp],
    ]);
    expect(up.state.links).toEqual([linkRow(2000)]);
    expect(up.signals.every((s) => s.kind !== 'link_failover')).toBe(true);
  });

  it('uptime counts on from the last hello; link failovers become signals', () => {
    const { state, signals } = run([
      [1_000, { type: 'hello', session_id: 'ses_1', uptime_s: 100 }],
      [2_000, { type: 'link_failover', from: 'l1', to: 'l2', at: '2026-11-22T03:00:01Z' }],
    ]);
    expect(relayUptimeSeconds(state, 6_000)).toBe(105);
    expect(relayUptimeSeconds(initialRelayState(), 6_000)).toBeNull();
    expect(signals).toEqual([{ kind: 'link_failover', session_id: 'ses_1', from: 'l1', to: 'l2' }]);
    expect(state.lastMessageAt).toBe(2_000);
  });

  it('never changes the state it is given, and a fresh state keeps when a relay was last heard', () => {
    const before = initialRelayState();
    const frozen = structuredClone(before);
    foldRelay(before, stats(true, 2000), 'ses_1', 1);
    expect(before).toEqual(frozen);
    expect(initialRelayState(42)).toMatchObject({ lastMessageAt: 42, connected: false, links: [] });
  });
});

describe('feedLink', () => {
  it('is the forwarded link, else the strongest one still connected', () => {
    const slow = { ...linkRow(800), link_id: 'l2', rtt_ms: 90 };
    const gone = { ...linkRow(9000), link_id: 'l3', status: 'disconnected' as const };
    const base = { ...initialRelayState(), links: [linkRow(2500), slow, gone] };
    expect(feedLink({ ...base, forwardedLinkId: 'l2' })?.link_id).toBe('l2');
    expect(feedLink({ ...base, forwardedLinkId: null })?.link_id).toBe('l1');
    expect(feedLink(initialRelayState())).toBeNull();
  });
});
