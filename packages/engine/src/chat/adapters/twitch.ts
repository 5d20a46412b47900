import { errorText } from '@telemy/protocol';
import { ChatClient, type ChatMessage } from '@twurple/chat';
import { TokenSourceAuthProvider } from '../auth/twurple-provider.js';
import type { TwitchChatConfig } from '../config.js';
import { twitchFlags } from '../roles.js';
import { ReconnectingChatAdapter } from './reconnecting-adapter.js';
import type { AdapterDeps } from './types.js';

export const TWITCH_DEFAULT_HOST = 'wss://irc-ws.chat.twitch.tv:443';

export interface TwitchEndpoint {
  hostName: string;
  port: number;
  ssl: boolean;
  webSocket: boolean;
}

/** `irc://` plain TCP, `ircs://` TLS TCP, `ws://` / `wss://` WebSocket; the port defaults per scheme. */
export function parseTwitchHost(host: string): TwitchEndpoint {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new Error(`chat.twitch.host: "${host}" is not a URL like irc://host:6667 or wss://host:443`);
  }
  const schemes: Record<string, { ssl: boolean; webSocket: boolean; port: number }> = {
    'irc:': { ssl: false, webSocket: false, port: 6667 },
    'ircs:': { ssl: true, webSocket: false, port: 6697 },
    'ws:': { ssl: false, webSocket: true, port: 80 },
    'wss:': { ssl: true, webSocket: true, port: 443 },
  };
  const s = schemes[url.protocol];
  if (!s || !url.hostname)
    throw new Error(`chat.twitch.host: scheme must be irc, ircs, ws or wss (got "${host}")`);
  return {
    hostName: url.hostname,
    port: url.port ? Number(url.port) : s.port,
    ssl: s.ssl,
    webSocket: s.webSocket,
  };
}

/**
 * ChatClient takes a host name but no port. The IRC connection resolves its target on every
 * connect, so the port is set there; if a twurple upgrade moves it, this fails loudly at start.
 */
function setIrcPort(client: ChatClient, port: number): void {
  const connection = (client.irc as unknown as { _connection?: { _target?: { port?: number } } })._connection;
  if (!connection?._target || typeof connection._target.port !== 'number') {
    throw new Error('chat.twitch.host: this @twurple/chat version does not allow a custom port');
  }
  connection._target.port = port;
}

/** Twitch chat over its IRC dialect with tags, via @twurple/chat. One ChatClient per connection attempt. */
export class TwitchAdapter extends ReconnectingChatAdapter {
  readonly platform = 'twitch' as const;
  private client: ChatClient | null = null;
  private readonly channel: string;
  private readonly endpoint: TwitchEndpoint;

  constructor(config: TwitchChatConfig, deps: AdapterDeps) {
    const channel = config.channel.replace(/^#/, '').toLowerCase();
    super(
      deps,
      {
        platform: 'twitch',
        connected: false,
        channel,
        read_only: true,
        note: 'connecting',
        reconnects: 0,
      },
      config,
    );
    this.channel = channel;
    this.endpoint = parseTwitchHost(config.host ?? TWITCH_DEFAULT_HOST);
  }

  async send(text: string): Promise<boolean> {
    const client = this.client;
    if (!client || !this.current.connected || this.current.read_only) return false;
    await client.say(this.channel, text);
    return true;
  }

  protected teardown(): void {
    const old = this.client;
    this.client = null;
    if (old) {
      try {
        old.quit();
      } catch (e) {
        this.deps.log.debug({ err: String(e) }, 'twitch: quit failed');
      }
    }
  }

  protected async connect(): Promise<void> {
    const token = await this.auth.accessToken();
    if (this.reconnector.stopped) return;
    const readOnly = !token;
    let client: ChatClient;
    try {
      client = new ChatClient({
        ...(token ? { authProvider: new TokenSourceAuthProvider(this.auth) } : {}),
        hostName: this.endpoint.hostName,
        ssl: this.endpoint.ssl,
        webSocket: this.endpoint.webSocket,
        channels: [this.channel],
        logger: {
          custom: (level, message) => this.deps.log.debug({ level }, `twurple: ${message}`),
        },
      });
      setIrcPort(client, this.endpoint.port);
    } catch (e) {
      this.update({ connected: false, note: errorText(e) });
      return;
    }
    this.client = client;
    const mine = (): boolean => this.client === client;
    client.onJoin((channel) => {
      if (!mine() || channel.toLowerCase() !== this.channel) return;
      this.reconnector.succeeded();
      this.update({
        connected: true,
        read_only: readOnly,
        note: readOnly ? this.noTokenNote('no token configured: read-only (anonymous)') : null,
      });
    });
    client.onJoinFailure((channel, reason) => {
      if (mine()) this.retry(`join #${channel} failed: ${reason}`);
    });
    client.onTokenFetchFailure((e) => {
      if (mine()) this.retry(`token rejected: ${e.message}`);
    });
    client.onAuthenticationFailure((text) => {
      if (mine()) this.retry(`authentication failed: ${text}`);
    });
    client.onDisconnect((manually, reason) => {
      // twurple would retry on its own; one policy (ours, capped) decides instead. Deferred because
      // twurple starts its own retry right after this callback returns, and quit() cancels it.
      if (mine() && !manually) setImmediate(() => mine() && this.retry(reason?.message ?? 'disconnected'));
    });
    client.onMessage((channel, user, text, msg: ChatMessage) => {
      if (!mine()) return;
      const info = msg.userInfo;
      this.deps.onMessage({
        platform: 'twitch',
        channel,
        user_id: info.userId,
        user_name: user,
        display_name: info.displayName,
        flags: twitchFlags(info.badges),
        text,
      });
    });
    client.connect();
  }
}
