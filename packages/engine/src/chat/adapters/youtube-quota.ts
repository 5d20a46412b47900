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
  /** Units of `used` spent on burst polls after a command. */
  burst: number;
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

/** The UTC instant of 00:00 Pacific Time on the Pacific date `y-m-d` (the day may overflow). */
function ptMidnight(y: number, m: number, d: number): number {
  // Pacific Time is UTC-8 (PST) or UTC-7 (PDT); midnight is never inside a clock change (2 a.m.).
  const pst = Date.UTC(y, m - 1, d, 8);
  const p = ptParts(pst);
  return p.hour === 0 ? pst : pst - 3_600_000;
}

/** Milliseconds until the next midnight Pacific Time, exact on daylight-saving change days. */
export function msUntilQuotaReset(now: number): number {
  const p = ptParts(now);
  return Math.max(1000, ptMidnight(p.year ?? 1970, p.month ?? 1, (p.day ?? 1) + 1) - now);
}

export function freshQuota(now: number): QuotaState {
  return { day: ptDay(now), used: 0, exhausted: false, burst: 0 };
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

/** How long a broadcast is expected to last when `expected_stream_hours` is not set. */
export const YOUTUBE_DEFAULT_STREAM_HOURS = 8;
/**
 * After a moderator's or the owner's command, polls follow the API's interval for this long:
 * someone fixing a problem often types the next command within seconds (`!status`, `!fix`, a
 * corrected `!switch`). At a 2 s interval a burst costs about 115 units.
 */
export const YOUTUBE_BURST_MS = 45_000;
/**
 * At most this share of the daily quota goes to those bursts (1,000 of the default 10,000 units,
 * about nine full bursts), so the steady pace slows by at most about a tenth.
 */
export const YOUTUBE_BURST_SHARE = 0.1;

export interface PacingInput {
  now: number;
  /** `pollingIntervalMillis` of the last answer: Google's minimum. */
  apiIntervalMs: number;
  /** Units left today. */
  remaining: number;
  perDay: number;
  /** When the broadcast started (or when Telemy joined its chat). */
  broadcastStart: number;
  expectedStreamMs: number;
  /** Units spent on burst polls today. */
  burstUsed: number;
  /** When a moderator's or the owner's command was last read; null when none yet. */
  lastCommandAt: number | null;
}

export interface Pacing {
  /** Delay before the next `liveChatMessages.list`. */
  delayMs: number;
  /** The pace without a burst: the quota left spread over the horizon, never faster than the API asks. */
  steadyMs: number;
  /** What the quota left must last: to the expected end of the broadcast or the reset, whichever is first. */
  horizonMs: number;
  burst: boolean;
}

/**
 * The quota is budgeted over the broadcast, not the day: the units left (minus a reserve for
 * replies) are spread over the time until the expected end of the broadcast, or until midnight
 * Pacific when that comes first (a fresh quota takes over there). Past the expected end the quota
 * must last until the reset. Never faster than the API asks; a short burst at the API's interval
 * after a command, paid from a capped share of the day's quota.
 */
export function pacing(p: PacingInput): Pacing {
  const untilReset = msUntilQuotaReset(p.now);
  const untilEnd = p.broadcastStart + p.expectedStreamMs - p.now;
  const horizonMs = untilEnd > 0 ? Math.min(untilEnd, untilReset) : untilReset;
  const polls = Math.floor((p.remaining - YOUTUBE_REPLY_RESERVE) / YOUTUBE_COSTS.messagesList);
  if (polls < 1) return { delayMs: untilReset, steadyMs: untilReset, horizonMs, burst: false };
  const steadyMs = Math.max(p.apiIntervalMs, Math.ceil(horizonMs / polls));
  const burst =
    steadyMs > p.apiIntervalMs &&
    p.lastCommandAt !== null &&
    p.now - p.lastCommandAt < YOUTUBE_BURST_MS &&
    p.burstUsed + YOUTUBE_COSTS.messagesList <= YOUTUBE_BURST_SHARE * p.perDay;
  return { delayMs: burst ? p.apiIntervalMs : steadyMs, steadyMs, horizonMs, burst };
}

/**
 * When the quota left runs out if polls keep coming every `steadyMs`, or null when it outlasts the
 * reset (the dock then says so instead of a time).
 */
export function quotaLastsUntil(remaining: number, steadyMs: number, now: number): number | null {
  const polls = Math.max(0, Math.floor((remaining - YOUTUBE_REPLY_RESERVE) / YOUTUBE_COSTS.messagesList));
  const until = now + polls * steadyMs;
  return until >= now + msUntilQuotaReset(now) ? null : until;
}
