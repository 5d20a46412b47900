import { describe, expect, it } from 'vitest';
import type { CloudLinkSnapshot } from '../../src/cloudlink/cloudlink.js';
import { RelayFeedReader } from '../../src/sources/relay-feed.js';

/** The parts of CloudLink's snapshot the reader looks at. */
function snap(sessionId: string | null, connected: boolean, ingestActive: boolean | null = true) {
  return {
    session: sessionId ? { session_id: sessionId } : null,
    telemetry: { connected, ingest_active: ingestActive },
    bonded: connected ? { total_bitrate_kbps: 3200 } : null,
  } as unknown as CloudLinkSnapshot;
}

describe('RelayFeedReader', () => {
  it('reads unknown while a session waits for its telemetry, then offline once the window ends', () => {
    const r = new RelayFeedReader(5000);
    expect(r.read(snap('ses_1', false), 1000)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 5999)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 6000)).toEqual({
      kind: 'offline',
      reason: 'relay telemetry not connected',
    });
  });

  it('reports the bonded bitrate once the ingest is reported, and offline at once when telemetry is lost later', () => {
    const r = new RelayFeedReader(5000);
    expect(r.read(snap('ses_1', false), 0)).toMatchObject({ kind: 'unknown' });
    // A socket is not a feed: until the relay reports the ingest, nothing says the phone is there.
    expect(r.read(snap('ses_1', true, null), 700)).toEqual({
      kind: 'unknown',
      reason: 'waiting for the relay to report the ingest',
    });
    expect(r.read(snap('ses_1', true), 800)).toMatchObject({ kind: 'sample', bitrate_kbps: 3200 });
    expect(r.read(snap('ses_1', false), 900)).toMatchObject({ kind: 'offline' });
    expect(r.read(snap('ses_1', true, false), 1000)).toEqual({
      kind: 'offline',
      reason: 'relay ingest inactive',
    });
  });

  it('after start-up, no session is offline once the first window is over', () => {
    const r = new RelayFeedReader(5000);
    expect(r.read(snap(null, false), 0)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap(null, false), 5000)).toMatchObject({ kind: 'offline' });
  });

  it('a session found during the start-up window gets a window of its own', () => {
    const r = new RelayFeedReader(5000);
    expect(r.read(snap(null, false), 0)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 4000)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 8999)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', true), 9000)).toMatchObject({ kind: 'sample' });
  });

  it('waits for the control plane that is still starting, then gives the session its window', () => {
    const r = new RelayFeedReader(5000);
    // An engine restarted mid-stream: the control plane takes 8 s to come up and find the session.
    expect(r.read(snap(null, false), 0, true)).toEqual({
      kind: 'unknown',
      reason: 'waiting for the control plane to find the relay session',
    });
    expect(r.read(snap(null, false), 8000, true)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 8100)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 13_099)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_1', false), 13_100)).toMatchObject({ kind: 'offline' });
    // Once telemetry was up, a control plane restarting later does not hide its loss.
    expect(r.read(snap('ses_1', true), 14_000)).toMatchObject({ kind: 'sample' });
    expect(r.read(snap('ses_1', false), 15_000, true)).toMatchObject({ kind: 'offline' });
  });

  it('a new session gets its own window', () => {
    const r = new RelayFeedReader(5000);
    r.read(snap('ses_1', true), 0);
    expect(r.read(snap('ses_2', false), 10_000)).toMatchObject({ kind: 'unknown' });
    expect(r.read(snap('ses_2', false), 15_000)).toMatchObject({ kind: 'offline' });
  });
});
