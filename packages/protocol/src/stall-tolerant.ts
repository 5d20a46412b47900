/**
 * A timer that runs well after it was due ran late because this process did not run (a blocked
 * event loop, a suspended machine), not because the other side was silent: an answer that arrived
 * in the meantime is still waiting to be read. Deciding "no answer" then would blame the peer for
 * our own stall, so the verdict waits for I/O to be read first.
 */

/** How late a timer may run before it counts as delayed by our own stall. */
export const STALL_LATE_MS = 200;
/** After a stall, the time given to the event loop to read what arrived before deciding. */
const AFTER_STALL_GRACE_MS = 50;

export interface Deadline {
  clear(): void;
}

/** Calls `onExpire` after `ms`, unless cleared; a late-running timer first lets pending I/O be read. */
export function stallTolerantDeadline(
  ms: number,
  onExpire: () => void,
  now: () => number = () => performance.now(),
): Deadline {
  const due = now() + ms;
  let timer = setTimeout(() => {
    if (now() - due > STALL_LATE_MS) {
      timer = setTimeout(onExpire, AFTER_STALL_GRACE_MS);
      return;
    }
    onExpire();
  }, ms);
  return { clear: () => clearTimeout(timer) };
}

/**
 * For periodic checks: `true` when this run comes so late after the previous one that the process
 * itself was stalled, and the check should wait a round for the I/O that piled up meanwhile.
 */
export function ranLate(previousRunAt: number | null, nowMs: number, periodMs: number): boolean {
  return previousRunAt !== null && nowMs - previousRunAt > periodMs + STALL_LATE_MS;
}
