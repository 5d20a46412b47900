/**
 * Cooldowns as plain data: the time each key may next be used. Keys are `cmd:<command>` (global,
 * across users and platforms) and `user:<platform>:<user_id>:<command>` (per user).
 */
export interface CooldownState {
  readonly until: Readonly<Record<string, number>>;
}

export const EMPTY_COOLDOWNS: CooldownState = { until: {} };

export function globalKey(command: string): string {
  return `cmd:${command}`;
}

export function userKey(platform: string, userId: string, command: string): string {
  return `user:${platform}:${userId}:${command}`;
}

/** The first key still cooling down at `now`, or null. */
export function coolingKey(state: CooldownState, keys: readonly string[], now: number): string | null {
  for (const k of keys) {
    const until = state.until[k];
    if (until !== undefined && now < until) return k;
  }
  return null;
}

/** Starts cooldowns; expired entries are dropped so the state stays as small as the active windows. */
export function startCooldowns(
  state: CooldownState,
  windows: ReadonlyArray<{ key: string; ms: number }>,
  now: number,
): CooldownState {
  const until: Record<string, number> = {};
  for (const [k, t] of Object.entries(state.until)) if (t > now) until[k] = t;
  for (const w of windows) if (w.ms > 0) until[w.key] = Math.max(until[w.key] ?? 0, now + w.ms);
  return { until };
}
