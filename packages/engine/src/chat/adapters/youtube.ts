import type { YouTubeChatConfig } from '../config.js';
import { youtubeFlags } from '../roles.js';
import { ReconnectingChatAdapter } from './reconnecting-adapter.js';
import type { AdapterDeps, ChatPlatformState } from './types.js';
import {
  freshQuota,
  msUntilQuotaReset,
  type Pacing,
  pacing,
  type QuotaState,
  quotaLastsUntil,
  quotaRemaining,
  rollQuota,
  spendQuota,
  YOUTUBE_COSTS,
  YOUTUBE_DEFAULT_QUOTA,
  YOUTUBE_DEFAULT_STREAM_HOURS,
} from './youtube-quota.js';

export const YOUTUBE_DEFAULT_HOST = 'https://www.googleapis.com/youtube/v3';
const HTTP_TIMEOUT_MS = 10_000;

interface GoogleError {
  error?: { code?: number; message?: string; errors?: Array<{ reason?: string }> };
}

interface LiveChatMessage {
  snippet?: { type?: string; textMessageDetails?: { messageText?: unknown }; displayMessage?: unknown };
  authorDetails?: {
    channelId?: unknown;
    displayName?: unknown;
    isChatOwner?: boolean;
    isChatModerator?: boolean;
    isChatSponsor?: boolean;
  };
}

interface BroadcastsResponse {
  items?: Array<{ snippet?: { liveChatId?: unknown; actualStartTime?: unknown } }>;
}

interface ListResponse {
  pollingIntervalMillis?: unknown;
  nextPageToken?: unknown;
  items?: LiveChatMessage[];
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`HTTP ${status}${reason ? ` ${reason}` : ''}`);
  }
}

export interface YouTubeAdapterOptions {
  /** Clock for the quota day and the broadcast's length; tests move it. */
  now?: () => number;
  /** The chat's command prefix: a moderator's line starting with it starts a burst of fast polls. */
  commandPrefix?: string;
}

/**
 * YouTube live chat over the Data API v3: the active broadcast's `liveChatId`, then
 * `liveChatMessages.list` at the interval the API returns, slowed down only as far as needed for
 * the quota to last the expected broadcast (`pacing`); replies with `liveChatMessages.insert`.
 */
export class YouTubeAdapter extends ReconnectingChatAdapter {
  readonly platform = 'youtube' as const;
  private readonly base: string;
  private readonly perDay: number;
  private readonly expectedStreamMs: number;
  private readonly prefix: string;
  private readonly now: () => number;
  private token: string | null = null;
  private liveChatId: string | null;
  private pageToken: string | null = null;
  private quota: QuotaState;
  private pollTimer: NodeJS.Timeout | null = null;
  /** The chat the broadcast clock belongs to, and when that broadcast started. */
  private broadcast: { chatId: string; startedAt: number } | null = null;
  /** `actualStartTime` of the broadcast found by `liveBroadcasts.list`, if any. */
  private foundStart: number | null = null;
  private lastCommandAt: number | null = null;
  private pace: Pacing | null = null;
  private burstPoll = false;

  constructor(
    private readonly config: YouTubeChatConfig,
    deps: AdapterDeps,
    opts: YouTubeAdapterOptions = {},
  ) {
    const perDay = config.quota_per_day ?? YOUTUBE_DEFAULT_QUOTA;
    super(
      deps,
      {
        platform: 'youtube',
        connected: false,
        channel: config.channel ?? '',
        read_only: false,
        note: 'connecting',
        quota_remaining: perDay,
        reconnects: 0,
      },
      config,
    );
    this.base = (config.host ?? YOUTUBE_DEFAULT_HOST).replace(/\/+$/, '');
    this.perDay = perDay;
    this.expectedStreamMs = (config.expected_stream_hours ?? YOUTUBE_DEFAULT_STREAM_HOURS) * 3_600_000;
    this.prefix = opts.commandPrefix ?? '!';
    this.now = opts.now ?? Date.now;
    this.liveChatId = config.live_chat_id ?? null;
    this.quota = freshQuota(this.now());
  }

  override state(): ChatPlatformState {
    const now = this.now();
    const remaining = quotaRemaining(this.quota, this.perDay, now);
    const pace = this.pace && this.current.connected ? this.pace : null;
    return {
      ...super.state(),
      quota_remaining: remaining,
      quota_pace: pace
        ? {
            poll_interval_ms: pace.steadyMs,
            lasts_until_ms: quotaLastsUntil(remaining, pace.steadyMs, now),
            resets_at_ms: now + msUntilQuotaReset(now),
          }
        : null,
    };
  }

  protected connect(): Promise<void> {
    return this.tick();
  }

  protected teardown(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  async send(text: string): Promise<boolean> {
    const chatId = this.liveChatId;
    if (!this.token || !chatId || !this.current.connected) return false;
    if (quotaRemaining(this.quota, this.perDay, this.now()) < YOUTUBE_COSTS.messagesInsert) return false;
    try {
      await this.call('POST', '/liveChat/messages', { part: 'snippet' }, YOUTUBE_COSTS.messagesInsert, {
        snippet: { liveChatId: chatId, type: 'textMessageEvent', textMessageDetails: { messageText: text } },
      });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'quotaExceeded') this.exhausted();
      this.deps.log.warn({ err: e }, 'youtube chat: reply failed');
      return false;
    }
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string>,
    cost: number,
    body?: unknown,
  ): Promise<unknown> {
    const url = `${this.base}${path}?${new URLSearchParams(query)}`;
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    // Google charges every answered request, failed ones included.
    this.quota = spendQuota(this.quota, cost, this.now());
    const parsed: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const reason = (parsed as GoogleError | null)?.error?.errors?.[0]?.reason ?? '';
      throw new ApiError(res.status, reason);
    }
    return parsed;
  }

  private exhausted(): void {
    this.quota = { ...this.quota, exhausted: true };
  }

  private schedulePoll(ms: number): void {
    if (this.reconnector.stopped) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.tick();
    }, ms);
  }

  /** One step: credentials, quota, live chat id, then one page of messages. Never throws. */
  private async tick(): Promise<void> {
    if (this.reconnector.stopped) return;
    this.token = await this.auth.accessToken();
    if (!this.token) {
      this.retry(this.noTokenNote('no token configured: YouTube needs an OAuth token to read chat'));
      return;
    }
    const now = this.now();
    if (quotaRemaining(this.quota, this.perDay, now) < YOUTUBE_COSTS.messagesList) {
      this.update({ connected: false, note: 'YouTube quota used up: paused until midnight Pacific Time' });
      this.schedulePoll(msUntilQuotaReset(now));
      return;
    }
    try {
      if (!this.liveChatId) await this.findLiveChat();
      if (!this.liveChatId) {
        this.retry('no active broadcast');
        return;
      }
      await this.poll(this.liveChatId);
    } catch (e) {
      this.failed(e);
    }
  }

  private async findLiveChat(): Promise<void> {
    const res = (await this.call(
      'GET',
      '/liveBroadcasts',
      { part: 'snippet', broadcastStatus: 'active', broadcastType: 'all' },
      YOUTUBE_COSTS.broadcastsList,
    )) as BroadcastsResponse;
    const snippet = res?.items?.find((b) => typeof b.snippet?.liveChatId === 'string')?.snippet;
    this.liveChatId = typeof snippet?.liveChatId === 'string' ? snippet.liveChatId : null;
    const started =
      typeof snippet?.actualStartTime === 'string' ? Date.parse(snippet.actualStartTime) : Number.NaN;
    this.foundStart = Number.isFinite(started) ? started : null;
    this.pageToken = null;
  }

  private async poll(chatId: string): Promise<void> {
    const query: Record<string, string> = { liveChatId: chatId, part: 'snippet,authorDetails' };
    if (this.pageToken) query.pageToken = this.pageToken;
    const res = (await this.call(
      'GET',
      '/liveChat/messages',
      query,
      YOUTUBE_COSTS.messagesList,
    )) as ListResponse;
    if (this.burstPoll) this.quota = { ...this.quota, burst: this.quota.burst + YOUTUBE_COSTS.messagesList };
    if (this.broadcast?.chatId !== chatId) {
      // A restart mid-broadcast keeps the real start when Google gave one; a fixed chat id starts now.
      this.broadcast = { chatId, startedAt: Math.min(this.foundStart ?? this.now(), this.now()) };
      this.lastCommandAt = null;
    }
    // The first page after (re)joining is backlog: commands typed before we listened are not run.
    const backlog = this.pageToken === null;
    this.pageToken = typeof res?.nextPageToken === 'string' ? res.nextPageToken : this.pageToken;
    this.reconnector.succeeded();
    if (!this.current.connected) this.update({ connected: true, note: null });
    if (!backlog) for (const item of res?.items ?? []) this.emit(item);
    const apiMs = typeof res?.pollingIntervalMillis === 'number' ? res.pollingIntervalMillis : 5000;
    const now = this.now();
    this.quota = rollQuota(this.quota, now);
    this.pace = pacing({
      now,
      apiIntervalMs: apiMs,
      remaining: quotaRemaining(this.quota, this.perDay, now),
      perDay: this.perDay,
      broadcastStart: this.broadcast.startedAt,
      expectedStreamMs: this.expectedStreamMs,
      burstUsed: this.quota.burst,
      lastCommandAt: this.lastCommandAt,
    });
    this.burstPoll = this.pace.burst;
    this.deps.onState(this.state());
    this.schedulePoll(this.pace.delayMs);
  }

  private emit(item: LiveChatMessage): void {
    const a = item.authorDetails;
    const text = item.snippet?.textMessageDetails?.messageText ?? item.snippet?.displayMessage;
    if (item.snippet?.type !== 'textMessageEvent' || typeof text !== 'string' || !a) return;
    if (typeof a.channelId !== 'string' || typeof a.displayName !== 'string') return;
    if ((a.isChatOwner || a.isChatModerator) && text.startsWith(this.prefix)) this.lastCommandAt = this.now();
    this.deps.onMessage({
      platform: 'youtube',
      channel: this.current.channel,
      user_id: a.channelId,
      user_name: a.displayName,
      flags: youtubeFlags(a),
      text,
    });
  }

  private failed(e: unknown): void {
    if (e instanceof ApiError) {
      if (e.reason === 'quotaExceeded') {
        this.exhausted();
        const now = this.now();
        this.update({ connected: false, note: 'YouTube quota exceeded: paused until midnight Pacific Time' });
        this.schedulePoll(msUntilQuotaReset(now));
        return;
      }
      if (['liveChatEnded', 'liveChatNotFound', 'liveChatDisabled'].includes(e.reason)) {
        this.liveChatId = this.config.live_chat_id ?? null;
        this.pageToken = null;
        this.retry(`live chat unavailable (${e.reason})`);
        return;
      }
      // A rejected token is refreshed now; the next attempt waits for that refresh.
      if (e.status === 401) void this.auth.rejected();
      this.retry(e.status === 401 ? 'token rejected (HTTP 401)' : `API error: ${e.message}`);
      return;
    }
    this.retry(e instanceof Error ? `request failed: ${e.message}` : 'request failed');
  }
}
