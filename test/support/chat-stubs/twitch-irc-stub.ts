import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

/**
 * A Twitch chat server speaking Twitch's IRC dialect over plain TCP: CAP LS/REQ/END, PASS, NICK,
 * JOIN (with the tagged ROOMSTATE twurple waits for), PING/PONG, IRCv3-tagged PRIVMSGs, and a
 * recorder for PRIVMSGs clients send. Also serves `GET /auth/validate` on an HTTP port, which
 * twurple calls to learn the bot's login (pointed here by `TWURPLE_MOCK_API_PORT`).
 */

export interface StubChatter {
  login: string;
  userId: string;
  displayName?: string;
  /** Twitch `badges` tag value, e.g. `broadcaster/1`, `moderator/1`, `vip/1`, or ''. */
  badges: string;
}

export interface SentPrivmsg {
  nick: string;
  channel: string;
  text: string;
}

interface Session {
  socket: net.Socket;
  nick: string | null;
  pass: string | null;
  channels: Set<string>;
  registered: boolean;
}

export interface TwitchIrcStubOptions {
  /** Accepted `PASS oauth:<token>` values; others get `Login authentication failed`. */
  tokens?: Record<string, { login: string; userId: string }>;
  /** Accepts further tokens (an OAuth stub's current ones) as this account. */
  accept?: (token: string) => { login: string; userId: string } | undefined;
  host?: string;
}

export class TwitchIrcStub {
  readonly sent: SentPrivmsg[] = [];
  /** Raw lines received from clients, for protocol assertions. */
  readonly received: string[] = [];
  connectionsAccepted = 0;
  private readonly sessions = new Set<Session>();
  private readonly server: net.Server;
  private readonly http: http.Server;
  private readonly tokens: Record<string, { login: string; userId: string }>;
  private readonly accepts: (token: string) => { login: string; userId: string } | undefined;
  private readonly host: string;
  private waiters: Array<() => void> = [];
  port = 0;
  httpPort = 0;

  constructor(opts: TwitchIrcStubOptions = {}) {
    this.tokens = opts.tokens ?? {};
    this.accepts = opts.accept ?? (() => undefined);
    this.host = opts.host ?? '127.0.0.1';
    this.server = net.createServer((socket) => this.accept(socket));
    this.http = http.createServer((req, res) => this.validate(req, res));
  }

  async start(port = 0, httpPort = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, this.host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    // twurple asks for http://localhost: bind where this machine resolves that name (loopback only).
    await new Promise<void>((resolve) => this.http.listen(httpPort, 'localhost', resolve));
    this.httpPort = (this.http.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `irc://${this.host}:${this.port}`;
  }

  /** Channels (without `#`) that at least one registered client has joined. */
  joinedChannels(): string[] {
    const all = new Set<string>();
    for (const s of this.sessions) for (const c of s.channels) all.add(c);
    return [...all];
  }

  clientCount(): number {
    return this.sessions.size;
  }

  /** Sends a tagged PRIVMSG from `from` to every client in `channel`. */
  say(channel: string, from: StubChatter, text: string): void {
    const tags = [
      'badge-info=',
      `badges=${from.badges}`,
      'color=#1E90FF',
      `display-name=${from.displayName ?? from.login}`,
      'emotes=',
      'first-msg=0',
      'flags=',
      `id=${randomUUID()}`,
      `mod=${from.badges.includes('moderator/') ? 1 : 0}`,
      'returning-chatter=0',
      'room-id=1000',
      'subscriber=0',
      `tmi-sent-ts=${Date.now()}`,
      'turbo=0',
      `user-id=${from.userId}`,
      `user-type=${from.badges.includes('moderator/') ? 'mod' : ''}`,
      `vip=${from.badges.includes('vip/') ? 1 : 0}`,
    ].join(';');
    const line = `@${tags} :${from.login}!${from.login}@${from.login}.tmi.twitch.tv PRIVMSG #${channel} :${text}`;
    for (const s of this.sessions) if (s.channels.has(channel)) this.write(s, line);
  }

  /** Closes every client connection abruptly, as a dropped network would. */
  dropAll(): void {
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
  }

  /** Resolves once `pred` holds, re-checked after every received line. */
  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`twitch stub: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 25);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    await Promise.all([
      new Promise<void>((resolve) => this.server.close(() => resolve())),
      new Promise<void>((resolve) => this.http.close(() => resolve())),
    ]);
  }

  private notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private write(s: Session, line: string): void {
    if (!s.socket.destroyed) s.socket.write(`${line}\r\n`);
  }

  private accept(socket: net.Socket): void {
    this.connectionsAccepted++;
    const session: Session = { socket, nick: null, pass: null, channels: new Set(), registered: false };
    this.sessions.add(session);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i = buffer.indexOf('\n');
      while (i >= 0) {
        const line = buffer.slice(0, i).replace(/\r$/, '');
        buffer = buffer.slice(i + 1);
        if (line) this.handle(session, line);
        i = buffer.indexOf('\n');
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sessions.delete(session);
      this.notify();
    });
  }

  private handle(s: Session, line: string): void {
    this.received.push(line);
    const body = line.startsWith('@') ? line.slice(line.indexOf(' ') + 1) : line;
    const [command = '', ...rest] = body.split(' ');
    const params = rest.join(' ');
    switch (command.toUpperCase()) {
      case 'CAP': {
        const [sub] = rest;
        if (sub === 'LS')
          this.write(s, ':tmi.twitch.tv CAP * LS :twitch.tv/tags twitch.tv/commands twitch.tv/membership');
        if (sub === 'REQ') this.write(s, `:tmi.twitch.tv CAP * ACK ${rest.slice(1).join(' ')}`);
        break;
      }
      case 'PASS':
        s.pass = params.replace(/^:/, '');
        break;
      case 'NICK':
        s.nick = params.replace(/^:/, '');
        this.register(s);
        break;
      case 'PING':
        this.write(s, `:tmi.twitch.tv PONG tmi.twitch.tv ${params}`);
        break;
      case 'JOIN':
        for (const raw of params.replace(/^:/, '').split(',')) this.join(s, raw.replace(/^#/, ''));
        break;
      case 'PRIVMSG': {
        const m = /^#(\S+) :(.*)$/.exec(params);
        if (m && s.registered) this.sent.push({ nick: s.nick ?? '', channel: m[1]!, text: m[2]! });
        break;
      }
      case 'QUIT':
        s.socket.end();
        break;
    }
    this.notify();
  }

  private register(s: Session): void {
    const nick = s.nick ?? '';
    const anonymous = /^justinfan\d+$/.test(nick);
    const token = s.pass?.replace(/^oauth:/, '') ?? '';
    if (!anonymous && this.account(token)?.login !== nick) {
      this.write(s, ':tmi.twitch.tv NOTICE * :Login authentication failed');
      s.socket.end();
      return;
    }
    s.registered = true;
    const lines = [
      `001 ${nick} :Welcome, GLHF!`,
      `002 ${nick} :Your host is tmi.twitch.tv`,
      `003 ${nick} :This server is rather new`,
      `004 ${nick} :-`,
      `375 ${nick} :-`,
      `372 ${nick} :You are in a maze of twisty passages, all alike.`,
      `376 ${nick} :>`,
    ];
    for (const l of lines) this.write(s, `:tmi.twitch.tv ${l}`);
    if (!anonymous)
      this.write(
        s,
        `@badge-info=;badges=;color=;display-name=${nick};user-id=1 :tmi.twitch.tv GLOBALUSERSTATE`,
      );
  }

  private join(s: Session, channel: string): void {
    if (!s.registered || !channel) return;
    const nick = s.nick ?? '';
    s.channels.add(channel);
    this.write(s, `:${nick}!${nick}@${nick}.tmi.twitch.tv JOIN #${channel}`);
    this.write(s, `:${nick}.tmi.twitch.tv 353 ${nick} = #${channel} :${nick}`);
    this.write(s, `:${nick}.tmi.twitch.tv 366 ${nick} #${channel} :End of /NAMES list`);
    this.write(
      s,
      `@badge-info=;badges=;color=;display-name=${nick};mod=0;subscriber=0;user-type= :tmi.twitch.tv USERSTATE #${channel}`,
    );
    this.write(
      s,
      `@emote-only=0;followers-only=-1;r9k=0;room-id=1000;slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #${channel}`,
    );
  }

  private account(token: string): { login: string; userId: string } | undefined {
    return Object.hasOwn(this.tokens, token) ? this.tokens[token] : this.accepts(token);
  }

  private validate(req: http.IncomingMessage, res: http.ServerResponse): void {
    const auth = req.headers.authorization ?? '';
    const token = auth.replace(/^(OAuth|Bearer) /i, '');
    const who = this.account(token);
    if (!req.url?.startsWith('/auth/validate') || !who) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 401, message: 'invalid access token' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        client_id: 'stubclientid',
        login: who.login,
        user_id: who.userId,
        scopes: ['chat:read', 'chat:edit'],
        expires_in: 3600,
      }),
    );
  }
}
