import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The part of the YouTube Data API v3 a live-chat bot uses, with its JSON shapes:
 * `GET /youtube/v3/liveBroadcasts?part=snippet&broadcastStatus=active`,
 * `GET /youtube/v3/liveChat/messages?liveChatId&part=snippet,authorDetails&pageToken`
 * (with `pollingIntervalMillis` and `nextPageToken`), `POST /youtube/v3/liveChat/messages?part=snippet`,
 * and Google-style errors (403 `quotaExceeded`, 401, 404 `liveChatNotFound`).
 */

export interface YouTubeAuthor {
  channelId: string;
  displayName: string;
  owner?: boolean;
  moderator?: boolean;
  sponsor?: boolean;
}

export interface YouTubeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string;
}

interface StoredMessage {
  id: string;
  author: YouTubeAuthor;
  text: string;
  publishedAt: string;
}

export interface YouTubeStubOptions {
  tokens?: string[];
  /** Accepts further tokens (an OAuth stub's current ones). */
  accept?: (token: string) => boolean;
  liveChatId?: string | null;
  pollingIntervalMillis?: number;
  /** `snippet.actualStartTime` of the active broadcast (ISO 8601); the stub's start time by default. */
  actualStartTime?: string;
}

function googleError(code: number, reason: string, message: string) {
  return { error: { code, message, errors: [{ message, domain: 'youtube.liveChat', reason }] } };
}

export class YouTubeApiStub {
  readonly requests: YouTubeRequest[] = [];
  readonly inserted: Array<{ liveChatId: string; text: string }> = [];
  liveChatId: string | null;
  pollingIntervalMillis: number;
  actualStartTime: string;
  /** While true every request answers 403 quotaExceeded (as Google does once the daily quota is spent). */
  quotaExceeded = false;
  private readonly tokens: Set<string>;
  private readonly accepts: (token: string) => boolean;
  private readonly messages: StoredMessage[] = [];
  private dropCount = 0;
  private readonly server: http.Server;
  port = 0;

  constructor(opts: YouTubeStubOptions = {}) {
    this.tokens = new Set(opts.tokens ?? []);
    this.accepts = opts.accept ?? (() => false);
    this.liveChatId = opts.liveChatId === undefined ? 'stub-live-chat' : opts.liveChatId;
    this.pollingIntervalMillis = opts.pollingIntervalMillis ?? 50;
    this.actualStartTime = opts.actualStartTime ?? new Date().toISOString();
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/youtube/v3`;
  }

  /** Adds a chat message; pollers see it on their next page. */
  say(author: YouTubeAuthor, text: string): void {
    this.messages.push({ id: randomUUID(), author, text, publishedAt: new Date().toISOString() });
  }

  /** The next `n` requests get their connection destroyed without an answer. */
  dropNext(n: number): void {
    this.dropCount = n;
  }

  count(path: string, method = 'GET'): number {
    return this.requests.filter((r) => r.path === path && r.method === method).length;
  }

  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`youtube stub: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://stub');
    const authorization = req.headers.authorization ?? '';
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization,
    });
    if (this.dropCount > 0) {
      this.dropCount--;
      req.socket.destroy();
      return;
    }
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const bearer = authorization.replace(/^Bearer /, '');
    if (!this.tokens.has(bearer) && !this.accepts(bearer)) {
      return json(401, googleError(401, 'authError', 'Request had invalid authentication credentials.'));
    }
    if (this.quotaExceeded) {
      return json(403, {
        error: {
          code: 403,
          message: 'The request cannot be completed because you have exceeded your quota.',
          errors: [{ message: 'quota', domain: 'youtube.quota', reason: 'quotaExceeded' }],
        },
      });
    }
    if (req.method === 'GET' && url.pathname === '/youtube/v3/channels' && url.searchParams.get('mine')) {
      return json(200, { items: [{ id: 'UCstub', snippet: { title: 'Stub Channel' } }] });
    }
    if (req.method === 'GET' && url.pathname === '/youtube/v3/liveBroadcasts') {
      const items = this.liveChatId
        ? [
            {
              kind: 'youtube#liveBroadcast',
              id: 'stub-broadcast',
              snippet: { title: 'IRL', liveChatId: this.liveChatId, actualStartTime: this.actualStartTime },
            },
          ]
        : [];
      return json(200, {
        kind: 'youtube#liveBroadcastListResponse',
        items,
        pageInfo: { totalResults: items.length },
      });
    }
    if (url.pathname === '/youtube/v3/liveChat/messages') {
      if (req.method === 'GET') return this.list(url, json);
      if (req.method === 'POST') return this.insert(Buffer.concat(chunks).toString('utf8'), json);
    }
    json(404, googleError(404, 'notFound', 'Not Found'));
  }

  private list(url: URL, json: (status: number, body: unknown) => void): void {
    const chatId = url.searchParams.get('liveChatId');
    if (!chatId || chatId !== this.liveChatId) {
      json(
        404,
        googleError(
          404,
          'liveChatNotFound',
          'The live chat that you are trying to retrieve cannot be found.',
        ),
      );
      return;
    }
    const token = url.searchParams.get('pageToken');
    const from = token ? Number(token.replace(/^p/, '')) || 0 : 0;
    const items = this.messages.slice(from).map((m) => ({
      kind: 'youtube#liveChatMessage',
      id: m.id,
      snippet: {
        type: 'textMessageEvent',
        liveChatId: chatId,
        authorChannelId: m.author.channelId,
        publishedAt: m.publishedAt,
        hasDisplayContent: true,
        displayMessage: m.text,
        textMessageDetails: { messageText: m.text },
      },
      authorDetails: {
        channelId: m.author.channelId,
        channelUrl: `http://www.youtube.com/channel/${m.author.channelId}`,
        displayName: m.author.displayName,
        profileImageUrl: '',
        isVerified: false,
        isChatOwner: m.author.owner === true,
        isChatSponsor: m.author.sponsor === true,
        isChatModerator: m.author.moderator === true,
      },
    }));
    json(200, {
      kind: 'youtube#liveChatMessageListResponse',
      pollingIntervalMillis: this.pollingIntervalMillis,
      nextPageToken: `p${this.messages.length}`,
      pageInfo: { totalResults: items.length, resultsPerPage: items.length },
      items,
    });
  }

  private insert(raw: string, json: (status: number, body: unknown) => void): void {
    let body: {
      snippet?: { liveChatId?: string; type?: string; textMessageDetails?: { messageText?: string } };
    };
    try {
      body = JSON.parse(raw);
    } catch {
      json(400, googleError(400, 'parseError', 'Parse Error'));
      return;
    }
    const s = body.snippet;
    const text = s?.textMessageDetails?.messageText;
    if (s?.type !== 'textMessageEvent' || typeof text !== 'string' || s.liveChatId !== this.liveChatId) {
      json(400, googleError(400, 'invalidValue', 'invalid liveChatMessage'));
      return;
    }
    this.inserted.push({ liveChatId: s.liveChatId, text });
    json(200, { kind: 'youtube#liveChatMessage', id: randomUUID(), snippet: s });
  }
}
