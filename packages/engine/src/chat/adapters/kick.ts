import { errorText } from '@telemy/protocol';
import WebSocket from 'ws';
import type { KickChatConfig } from '../config.js';
import { kickFlags } from '../roles.js';
import { ReconnectingChatAdapter } from './reconnecting-adapter.js';
import type { AdapterDeps } from './types.js';

/** Kick's public Pusher application, as its web client connects to it. */
export const KICK_DEFAULT_HOST =
  'wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0&flash=false';
export const KICK_DEFAULT_API_HOST = 'https://api.kick.com';
export const KICK_DEFAULT_WEB_HOST = 'https://kick.com';

const CHAT_EVENT = 'App\\Events\\ChatMessageEvent';
const HTTP_TIMEOUT_MS = 10_000;
/** How long to wait for `pusher:pong` after our `pusher:ping` before calling the socket dead. */
const PONG_TIMEOUT_MS = 30_000;

interface PusherFrame {
  event?: unknown;
  data?: unknown;
  channel?: unknown;
}

interface KickSender {
  id?: unknown;
  username?: unknown;
  identity?: { badges?: unknown };
}

/** Pusher sends `data` as a JSON string for most events; tolerate an object too. */
function frameData(frame: PusherFrame): Record<string, unknown> | null {
  let d = frame.data;
  if (typeof d === 'string') {
    try {
      d = JSON.parse(d);
    } catch {
      return null;
    }
  }
  return d && typeof d === 'object' ? (d as Record<string, unknown>) : null;
}

/** Kick chat: the chatroom's Pusher websocket for reading, the public API for replies (with a token). */
export class KickAdapter extends ReconnectingChatAdapter {
  readonly platform = 'kick' as const;
  private ws: WebSocket | null = null;
  private token: string | null = null;
  private chatroomId: number | null;
  private broadcasterId: number | null;
  private activityTimer: NodeJS.Timeout | null = null;
  private activityTimeoutMs = 120_000;

  constructor(
    private readonly config: KickChatConfig,
    deps: AdapterDeps,
  ) {
    super(
      deps,
      {
        platform: 'kick',
        connected: false,
        channel: config.channel,
        read_only: true,
        note: 'connecting',
        reconnects: 0,
      },
      config,
    );
    this.chatroomId = config.chatroom_id ?? null;
    this.broadcasterId = config.broadcaster_user_id ?? null;
  }

  async send(text: string): Promise<boolean> {
    if (!this.token || !this.current.connected) return false;
    const body =
      this.broadcasterId !== null
        ? { broadcaster_user_id: this.broadcasterId, content: text, type: 'user' }
        : { content: text, type: 'bot' };
    const post = (token: string) =>
      fetch(`${this.config.api_host ?? KICK_DEFAULT_API_HOST}/public/v1/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    try {
      const token = await this.auth.accessToken();
      if (!token) return false;
      let res = await post(token);
      if (res.status === 401) {
        // Expired or revoked early: one refresh and one more try, never a loop.
        const fresh = await this.auth.rejected();
        if (fresh && fresh !== token) res = await post(fresh);
      }
      if (!res.ok) {
        this.deps.log.warn({ status: res.status }, 'kick chat: reply refused by the API');
        if (res.status === 401 || res.status === 403) {
          this.update({ note: `replies refused (HTTP ${res.status}): check the Kick token` });
        }
        return false;
      }
      return true;
    } catch (e) {
      this.deps.log.warn({ err: e }, 'kick chat: reply failed');
      return false;
    }
  }

  protected teardown(): void {
    if (this.activityTimer) clearTimeout(this.activityTimer);
    this.activityTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
  }

  private async lookupChatroom(): Promise<void> {
    const base = this.config.web_host ?? KICK_DEFAULT_WEB_HOST;
    const res = await fetch(`${base}/api/v2/channels/${encodeURIComponent(this.config.channel)}`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`channel lookup for "${this.config.channel}" answered HTTP ${res.status}`);
    const body = (await res.json()) as { user_id?: unknown; chatroom?: { id?: unknown } };
    if (typeof body.chatroom?.id !== 'number') throw new Error('channel lookup gave no chatroom id');
    this.chatroomId = body.chatroom.id;
    if (this.broadcasterId === null && typeof body.user_id === 'number') this.broadcasterId = body.user_id;
  }

  protected async connect(): Promise<void> {
    try {
      this.token = await this.auth.accessToken();
      if (this.chatroomId === null) await this.lookupChatroom();
    } catch (e) {
      this.retry(errorText(e));
      return;
    }
    if (this.reconnector.stopped) return;
    const ws = new WebSocket(this.config.host ?? KICK_DEFAULT_HOST);
    this.ws = ws;
    ws.on('message', (raw) => this.onFrame(ws, raw.toString()));
    ws.on('close', (code) => {
      if (this.ws === ws) this.retry(`socket closed (${code})`);
    });
    ws.on('error', (e) => {
      if (this.ws === ws) this.retry(e.message);
    });
  }

  /** Pusher expects a client ping after `activity_timeout` seconds of silence. */
  private armActivity(ws: WebSocket): void {
    if (this.activityTimer) clearTimeout(this.activityTimer);
    this.activityTimer = setTimeout(() => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
      this.activityTimer = setTimeout(() => {
        if (this.ws === ws) this.retry('no pong from the chat server');
      }, PONG_TIMEOUT_MS);
    }, this.activityTimeoutMs);
  }

  private onFrame(ws: WebSocket, raw: string): void {
    if (this.ws !== ws) return;
    this.armActivity(ws);
    let frame: PusherFrame;
    try {
      frame = JSON.parse(raw) as PusherFrame;
    } catch {
      this.deps.log.debug('kick chat: frame is not JSON, ignored');
      return;
    }
    const channel = `chatrooms.${this.chatroomId}.v2`;
    switch (frame.event) {
      case 'pusher:connection_established': {
        const timeout = frameData(frame)?.activity_timeout;
        if (typeof timeout === 'number' && timeout > 0) this.activityTimeoutMs = timeout * 1000;
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { auth: '', channel } }));
        return;
      }
      case 'pusher_internal:subscription_succeeded':
        if (frame.channel !== channel) return;
        this.reconnector.succeeded();
        this.update({
          connected: true,
          read_only: !this.token,
          note: this.token ? null : this.noTokenNote('no token configured: read-only (replies off)'),
        });
        return;
      case 'pusher:ping':
        ws.send(JSON.stringify({ event: 'pusher:pong', data: {} }));
        return;
      case 'pusher:error':
        this.deps.log.warn({ data: frameData(frame) }, 'kick chat: pusher error');
        return;
      case CHAT_EVENT:
        if (frame.channel === channel) this.onChat(frameData(frame));
        return;
    }
  }

  private onChat(data: Record<string, unknown> | null): void {
    const sender = data?.sender as KickSender | undefined;
    const content = data?.content;
    if (!sender || typeof content !== 'string' || typeof sender.username !== 'string') return;
    if (typeof sender.id !== 'number' && typeof sender.id !== 'string') return;
    this.deps.onMessage({
      platform: 'kick',
      channel: this.config.channel,
      user_id: String(sender.id),
      user_name: sender.username.toLowerCase(),
      display_name: sender.username,
      flags: kickFlags(sender.identity?.badges),
      text: content,
    });
  }
}
