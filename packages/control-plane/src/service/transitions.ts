import type { SessionStatus } from '@telemy/protocol';
import { ApiError } from '../errors.js';

const LEGAL: Record<SessionStatus, readonly SessionStatus[]> = {
  provisioning: ['active', 'stopped'],
  active: ['grace', 'stopped'],
  grace: ['active', 'stopped'],
  stopped: [],
};

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return LEGAL[from].includes(to);
}

/** Throws 409 `invalid_transition` for a move the session state machine does not allow. */
export function assertTransition(from: SessionStatus, to: SessionStatus): void {
  if (!canTransition(from, to)) {
    throw new ApiError('invalid_transition', `a ${from} session cannot become ${to}`, { from, to });
  }
}
