import { type BackoffPolicy, backoffMs } from '@telemy/protocol/backoff';
import type {
  DockActionInput,
  DockActionResult,
  DockLifecycle,
  DockServerMessage,
  DockState,
} from '@telemy/protocol/dock';

/**
 * The dock's one link to the engine: a WebSocket that reconnects by itself with capped backoff,
 * the latest DockState, and the results of the actions this page sent. Everything the UI shows
 * about the connection comes from `phase`.
 */

export type ConnectionPhase =
  /** First connection attempt in progress. */
  | 'connecting'
  | 'open'
  /** The socket is down and the engine did not say why: "engine not running". */
  | 'down'
  /** The engine said it is restarting before it went away. */
  | 'restarting'
  /** The engine (or its supervisor) reported a failure it will not recover from by itself. */
  | 'failed'
  | 'no_token';

export interface ConnectionSnapshot {
  phase: ConnectionPhase;
  detail: string | null;
  attempts: number;
  state: DockState | null;
  results: ReadonlyMap<string, ActionProgress>;
}

/** An action's latest known state: `sent` until the engine answers. */
export type ActionProgress =
  | DockActionResult
  | { action_id: string; action: string; status: 'sent'; reason?: undefined; field_errors?: undefined };

const MAX_RESULTS = 100;

function withResult(
  results: ReadonlyMap<string, ActionProgress>,
  id: string,
  r: ActionProgress,
): Map<string, ActionProgress> {
  const next = new Map(results);
  next.delete(id);
  next.set(id, r);
  while (next.size > MAX_RESULTS) next.delete(next.keys().next().value as string);
  return next;
}

const TOKEN_KEY = 'telemy.token';
/** Reconnect delays: from 250 ms, doubling, never more than 4 s. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 4000 };

/** Takes the token from `?token=` once, keeps it in storage and removes it from the address bar. */
export function takeToken(loc: Location, history: History, storage: Storage[]): string | null {
  const params = new URLSearchParams(loc.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    for (const s of storage) {
      try {
        s.setItem(TOKEN_KEY, fromUrl);
      } catch {
        // Storage can be disabled (private mode); the token still works for this page's life.
      }
    }
    params.delete('token');
    const query = params.toString();
    history.replaceState(null, '', `${loc.pathname}${query ? `?${query}` : ''}${loc.hash || '#/'}`);
    return fromUrl;
  }
  for (const s of storage) {
    try {
      const t = s.getItem(TOKEN_KEY);
      if (t) return t;
    } catch {
      // Unreadable storage: same as no stored token.
    }
  }
  return null;
}

export function dockSocketUrl(loc: Location, token: string): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws?token=${encodeURIComponent(token)}`;
}

let counter = 0;
export function newActionId(): string {
  counter += 1;
  return `d${Date.now().toString(36)}-${counter}`;
}

type Listener = (s: ConnectionSnapshot) => void;

export class DockConnection {
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<Listener>();
  private snap: ConnectionSnapshot;
  private stopped = false;
  private notice: { phase: DockLifecycle['phase']; detail: string | null } | null = null;

  constructor(
    private readonly url: string | null,
    private readonly makeSocket: (url: string) => WebSocket = (u) => new WebSocket(u),
    /**
     * Asked after a drop the engine did not announce: the supervisor's reason when it gave up on the
     * engine (it then serves a failure page on the engine's port), else null.
     */
    private readonly probeFailure: (() => Promise<string | null>) | null = null,
  ) {
    this.snap = {
      phase: url ? 'connecting' : 'no_token',
      detail: null,
      attempts: 0,
      state: null,
      results: new Map(),
    };
  }

  get snapshot(): ConnectionSnapshot {
    return this.snap;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.url && !this.ws && !this.timer) this.open(this.url);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
  }

  /** Sends an action; its results arrive in `snapshot.results` under the returned id. */
  send(action: DistributiveOmit<DockActionInput, 'action_id'>): string {
    const id = newActionId();
    if (!this.ws || this.ws.readyState !== this.ws.OPEN) {
      const r = {
        action_id: id,
        action: action.type,
        status: 'rejected' as const,
        reason: 'not connected to the engine',
      };
      this.update({ results: withResult(this.snap.results, id, r) });
      return id;
    }
    this.update({
      results: withResult(this.snap.results, id, { action_id: id, action: action.type, status: 'sent' }),
    });
    this.ws.send(JSON.stringify({ type: 'action', action: { ...action, action_id: id } }));
    return id;
  }

  private open(url: string) {
    const ws = this.makeSocket(url);
    this.ws = ws;
    ws.onopen = () => this.update({ phase: 'open', detail: null, attempts: 0 });
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = () => {
      this.ws = null;
      if (this.stopped) return;
      const attempts = this.snap.attempts + 1;
      this.failUnanswered();
      const notice = this.notice;
      this.notice = null;
      if (notice) {
        const phase = notice.phase === 'stopping' ? 'down' : notice.phase;
        this.update({ phase, detail: notice.detail, attempts });
      } else {
        const keep = this.snap.phase === 'restarting' || this.snap.phase === 'failed';
        this.update({
          phase: keep ? this.snap.phase : 'down',
          detail: keep ? this.snap.detail : null,
          attempts,
        });
        void this.checkFailed();
      }
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.open(url);
        },
        backoffMs(RECONNECT_BACKOFF, attempts - 1),
      );
    };
  }

  private async checkFailed() {
    const reason = await this.probeFailure?.().catch(() => null);
    if (reason && !this.stopped && this.snap.phase !== 'open')
      this.update({ phase: 'failed', detail: reason });
  }

  /** Actions still waiting when the socket drops will never be answered on this connection. */
  private failUnanswered() {
    let results: ReadonlyMap<string, ActionProgress> = this.snap.results;
    for (const r of this.snap.results.values()) {
      if (r.status !== 'sent' && r.status !== 'accepted') continue;
      results = withResult(results, r.action_id ?? '', {
        action_id: r.action_id,
        action: r.action,
        status: 'rejected',
        reason: 'lost the connection to the engine before it answered',
      });
    }
    if (results !== this.snap.results) this.update({ results });
  }

  private onMessage(data: unknown) {
    let msg: DockServerMessage;
    try {
      msg = JSON.parse(String(data)) as DockServerMessage;
    } catch {
      return;
    }
    if (msg.type === 'state') {
      this.update({ state: msg.state });
    } else if (msg.type === 'action_result') {
      if (!msg.action_id) return;
      const { type: _type, ...result } = msg;
      this.update({ results: withResult(this.snap.results, msg.action_id, result) });
    } else if (msg.type === 'lifecycle') {
      // Takes effect when the socket closes: until then the engine is still here.
      this.notice = { phase: msg.phase, detail: msg.detail };
    }
  }

  private update(patch: Partial<ConnectionSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    for (const fn of this.listeners) fn(this.snap);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
