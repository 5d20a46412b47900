/**
 * YouTube Data API quota as data. Costs are Google's published units per call; the daily quota
 * resets at midnight Pacific Time. Usage is counted locally (the API does not report it).
 */

export const YOUTUBE_COSTS = { broadcastsList: 1, messagesList: 5, messagesInsert: 50 } as const;
export const YOUTUBE_DEFAULT_QUOTA = 10_000;
/** Units kept back for replies when pacing the polls. */
export const YOUTUBE_REPLY_RESERVE = 10 * YOUTUBE_COSTS.messagesInsert;

export interface QuotaState {
  /** Pacific-time date the usage belongs to, `YYYY-MM-DD`. */
  day: string;
  used: number;
  /** Google answered `quotaExceeded` on this day. */
  exhausted: boolean;
}

const PT = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/Los_Angeles',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function ptParts(now: number): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const p of PT.formatToParts(new Date(now))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return parts;
}

export function ptDay(now: number): string {
  const p = ptParts(now);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** Milliseconds until the next midnight Pacific Time (within an hour on DST change days). */
export function msUntilQuotaReset(now: number): number {
  const p = ptParts(now);
  const elapsed = (((p.hour ?? 0) * 60 + (p.minute ?? 0)) * 60 + (p.second ?? 0)) * 1000 + (now % 1000);
  return Math.max(1000, 86_400_000 - elapsed);
}

export function freshQuota(now: number): QuotaState {
  return { day: ptDay(now), used: 0, exhausted: false };
}

/** The state for `now`: a new Pacific day starts from zero. */
export function rollQuota(q: QuotaState, now: number): QuotaState {
  return q.day === ptDay(now) ? q : freshQuota(now);
}

export function spendQuota(q: QuotaState, units: number, now: number): QuotaState {
  const cur = rollQuota(q, now);
  return { ...cur, used: cur.used + units };
}

export function quotaRemaining(q: QuotaState, perDay: number, now: number): number {
  const cur = rollQuota(q, now);
  return cur.exhausted ? 0 : Math.max(0, perDay - cur.used);
}

/**
 * Delay before the next `liveChatMessages.list`: the API's `pollingIntervalMillis`, but never so
 * fast that the quota left (minus a reserve for replies) runs out before it resets.
 */
export function pollDelay(apiIntervalMs: number, remaining: number, msUntilReset: number): number {
  const budget = remaining - YOUTUBE_REPLY_RESERVE;
  if (budget < YOUTUBE_COSTS.messagesList) return msUntilReset;
  const polls = Math.floor(budget / YOUTUBE_COSTS.messagesList);
  return Math.max(apiIntervalMs, Math.ceil(msUntilReset / polls));
}
