import { describe, expect, it } from 'vitest';
import { decideSelfDestruct, type SelfDestructInputs } from '../src/self-destruct.js';

const policy = { maxSessionSeconds: 3_600, orphanAfterS: 900, idleAfterS: 600 };
const T0 = 1_000_000;
const s = (n: number) => T0 + n * 1000;

function at(now: number, over: Partial<SelfDestructInputs> = {}): SelfDestructInputs {
  return {
    now,
    servingSince: T0,
    lastControlPlaneContactAt: T0,
    sessionEndedStatus: null,
    lastIngestAt: T0,
    ...over,
  };
}

describe('decideSelfDestruct', () => {
  it('keeps running a healthy session', () => {
    expect(
      decideSelfDestruct(at(s(100), { lastControlPlaneContactAt: s(95), lastIngestAt: s(100) }), policy),
    ).toEqual({
      destroy: false,
    });
  });

  it('stops when the control plane answered that the session is over', () => {
    for (const status of [404, 403]) {
      const d = decideSelfDestruct(at(s(5), { sessionEndedStatus: status }), policy);
      expect(d).toMatchObject({ destroy: true, reason: 'session_stopped' });
      expect(d.destroy && d.detail).toContain(String(status));
    }
  });

  it('stops at max_session_seconds, not a second before', () => {
    const fresh = { lastControlPlaneContactAt: s(3_599), lastIngestAt: s(3_599) };
    expect(decideSelfDestruct(at(s(3_599), fresh), policy).destroy).toBe(false);
    expect(decideSelfDestruct(at(s(3_600), fresh), policy)).toMatchObject({
      destroy: true,
      reason: 'max_session_reached',
    });
  });

  it('is orphaned only when the control plane is unreachable AND ingest is idle', () => {
    // Unreachable for 900 s, but ingest still flowing: keep serving through a control-plane outage.
    expect(
      decideSelfDestruct(at(s(1_000), { lastControlPlaneContactAt: s(100), lastIngestAt: s(999) }), policy)
        .destroy,
    ).toBe(false);
    // Idle for 600 s, but the control plane answers: the control plane decides, not the relay.
    expect(
      decideSelfDestruct(at(s(1_000), { lastControlPlaneContactAt: s(995), lastIngestAt: s(300) }), policy)
        .destroy,
    ).toBe(false);
    // Unreachable 899 s and idle 700 s: not yet.
    expect(
      decideSelfDestruct(at(s(999), { lastControlPlaneContactAt: s(100), lastIngestAt: s(299) }), policy)
        .destroy,
    ).toBe(false);
    const d = decideSelfDestruct(
      at(s(1_000), { lastControlPlaneContactAt: s(100), lastIngestAt: s(400) }),
      policy,
    );
    expect(d).toMatchObject({ destroy: true, reason: 'orphaned' });
  });

  it('counts both clocks from serving time when the control plane or ingest was never seen', () => {
    const never = { lastControlPlaneContactAt: null, lastIngestAt: null };
    expect(decideSelfDestruct(at(s(899), never), policy).destroy).toBe(false);
    expect(decideSelfDestruct(at(s(900), never), policy)).toMatchObject({
      destroy: true,
      reason: 'orphaned',
    });
  });

  it('gives the session-ended answer precedence over the other reasons', () => {
    const d = decideSelfDestruct(
      at(s(10_000), { sessionEndedStatus: 403, lastControlPlaneContactAt: null }),
      policy,
    );
    expect(d).toMatchObject({ reason: 'session_stopped' });
  });
});
