/**
 * When a relay removes itself. Pure: the agent feeds it what it observed and
 * the current time, and acts on the answer.
 */
export interface SelfDestructInputs {
  now: number;
  /** When the agent started serving the session. */
  servingSince: number;
  /** Last 2xx from the control plane's health endpoint (null = never reached it). */
  lastControlPlaneContactAt: number | null;
  /** Status of the last health answer that said the session is over (404/403), else null. */
  sessionEndedStatus: number | null;
  /** Last ingest packet on any link (null = none yet). */
  lastIngestAt: number | null;
}

export interface SelfDestructPolicy {
  maxSessionSeconds: number;
  orphanAfterS: number;
  idleAfterS: number;
}

export type SelfDestructReason = 'session_stopped' | 'max_session_reached' | 'orphaned';

export type SelfDestructDecision =
  | { destroy: false }
  | { destroy: true; reason: SelfDestructReason; detail: string };

export function decideSelfDestruct(
  inputs: SelfDestructInputs,
  policy: SelfDestructPolicy,
): SelfDestructDecision {
  const { now, servingSince } = inputs;
  if (inputs.sessionEndedStatus !== null) {
    return {
      destroy: true,
      reason: 'session_stopped',
      detail: `control plane answered ${inputs.sessionEndedStatus} to the health report: the session is over`,
    };
  }
  const servedS = (now - servingSince) / 1000;
  if (servedS >= policy.maxSessionSeconds) {
    return {
      destroy: true,
      reason: 'max_session_reached',
      detail: `served ${Math.floor(servedS)} s, max_session_seconds is ${policy.maxSessionSeconds}`,
    };
  }
  // Both clocks start at serving time: a relay nobody ever reached or published to is as orphaned
  // as one that lost them.
  const unreachableS = (now - (inputs.lastControlPlaneContactAt ?? servingSince)) / 1000;
  const idleS = (now - (inputs.lastIngestAt ?? servingSince)) / 1000;
  if (unreachableS >= policy.orphanAfterS && idleS >= policy.idleAfterS) {
    return {
      destroy: true,
      reason: 'orphaned',
      detail: `control plane unreachable for ${Math.floor(unreachableS)} s (orphan_after_s ${policy.orphanAfterS}) and no ingest for ${Math.floor(idleS)} s (idle_after_s ${policy.idleAfterS})`,
    };
  }
  return { destroy: false };
}
