import type { Mode } from '@telemy/protocol';

export type ModeTrigger =
  | 'irl_start_accepted'
  | 'session_restored'
  | 'relay_connected'
  | 'irl_start_denied'
  | 'irl_start_timeout'
  | 'irl_cancelled'
  | 'telemetry_lost'
  | 'ingest_inactive'
  | 'relay_recovered'
  | 'grace_expired'
  | 'irl_off'
  | 'irl_stop_acknowledged'
  | 'ipc_failures'
  | 'obs_control_unavailable'
  | 'protocol_error_storm'
  | 'dependency_healthy'
  | 'fatal_error';

/** The current mode plus, while DEGRADED, the mode it returns to. */
export interface ModeState {
  mode: Mode;
  before: Mode | null;
}

export type TransitionResult = { ok: true; mode: Mode; before: Mode | null } | { ok: false; reason: string };

interface Row {
  from: Mode | 'any';
  to: Mode;
  triggers: readonly ModeTrigger[];
}

/** The mode transition table, row for row. Anything not listed here is illegal. */
export const TRANSITIONS: readonly Row[] = [
  { from: 'STUDIO', to: 'IRL_CONNECTING', triggers: ['irl_start_accepted', 'session_restored'] },
  { from: 'IRL_CONNECTING', to: 'IRL_ACTIVE', triggers: ['relay_connected'] },
  {
    from: 'IRL_CONNECTING',
    to: 'STUDIO',
    triggers: ['irl_start_denied', 'irl_start_timeout', 'irl_cancelled'],
  },
  { from: 'IRL_ACTIVE', to: 'IRL_GRACE', triggers: ['telemetry_lost', 'ingest_inactive'] },
  { from: 'IRL_GRACE', to: 'IRL_ACTIVE', triggers: ['relay_recovered'] },
  { from: 'IRL_GRACE', to: 'STUDIO', triggers: ['grace_expired', 'irl_off'] },
  { from: 'IRL_ACTIVE', to: 'STUDIO', triggers: ['irl_stop_acknowledged'] },
  {
    from: 'any',
    to: 'DEGRADED',
    triggers: ['ipc_failures', 'obs_control_unavailable', 'protocol_error_storm'],
  },
  { from: 'any', to: 'FATAL', triggers: ['fatal_error'] },
];

/**
 * Validates one mode change against the table. DEGRADED → X is legal only back to the mode it was
 * entered from; FATAL is terminal (only the operator restarting the engine leaves it).
 */
export function transition(current: ModeState, to: Mode, trigger: ModeTrigger): TransitionResult {
  const from = current.mode;
  if (from === to) return { ok: false, reason: `already ${to}` };
  if (from === 'FATAL') return { ok: false, reason: 'FATAL is terminal' };
  if (from === 'DEGRADED' && to !== 'FATAL') {
    if (trigger !== 'dependency_healthy')
      return { ok: false, reason: `DEGRADED is left only by dependency_healthy` };
    if (to !== current.before)
      return { ok: false, reason: `DEGRADED returns only to ${current.before ?? 'its previous mode'}` };
    return { ok: true, mode: to, before: null };
  }
  const row = TRANSITIONS.find((r) => (r.from === from || r.from === 'any') && r.to === to);
  if (!row) return { ok: false, reason: `${from} → ${to} is not in the transition table` };
  if (!row.triggers.includes(trigger))
    return { ok: false, reason: `${from} → ${to} is not triggered by ${trigger}` };
  return { ok: true, mode: to, before: to === 'DEGRADED' ? from : null };
}

export function isIrlMode(mode: Mode): boolean {
  return mode === 'IRL_CONNECTING' || mode === 'IRL_ACTIVE' || mode === 'IRL_GRACE';
}
