import { randomUUID } from 'node:crypto';
import { type BackoffPolicy, createLogger, type Logger } from '@telemy/protocol';
import type { EngineMetrics } from '../metrics/metrics.js';
import type { ChatActions } from './actions.js';
import { KickAdapter } from './adapters/kick.js';
import { TwitchAdapter } from './adapters/twitch.js';
import type { AdapterDeps, ChatAdapter, ChatPlatformState } from './adapters/types.js';
import { YouTubeAdapter } from './adapters/youtube.js';
import { type AuditLog, auditRecord, type ChatAuditRecord } from './audit.js';
import { chatConfigAfter } from './commands.js';
import { type ChatConfig, isCommandName, type Platform } from './config.js';
import { type CooldownState, EMPTY_COOLDOWNS } from './cooldown.js';
import { decide, execute, type IncomingChatMessage } from './pipeline.js';

export interface ChatBridgeOptions {
  config: ChatConfig;
  actions: ChatActions;
  getSecret: (key: string) => Promise<string | null>;
  /** Saves a platform's refreshed tokens in the vault. */
  setSecret?: (key: string, value: string) => Promise<void>;
  /** A platform's sign-in was revoked: once per revocation, for the event log. */
  onAuthRevoked?: (platform: Platform, text: string) => void;
  /** Where audit records are appended; null keeps them in memory only (event + metric). */
  audit: AuditLog | null;
  metrics?: EngineMetrics;
  /** Every audit record, for the engine's event history (the dock's event log). */
  onEvent?: (record: ChatAuditRecord) => void;
  /** Every platform state change, for DockState. */
  onState?: (states: ChatPlatformState[]) => void;
  now?: () => number;
  log?: Logger;
  reconnect?: BackoffPolicy;
  /** Replaces the adapters built from the config (other transports, tests). */
  adapters?: (deps: AdapterDeps) => ChatAdapter[];
}

const ECHO_WINDOW_MS = 60_000;

/** The chat line for an automatic switch, e.g. `Telemy: switched to BRB (feed offline, 0 kbps)`. */
export function autoSwitchAnnouncement(scene: string, reason: string, bitrateKbps: number | null): string {
  const rate = bitrateKbps === null ? '' : `, ${Math.round(bitrateKbps)} kbps`;
  return `Telemy: switched to ${scene} (${reason}${rate})`;
}

/** Builds one adapter per platform section present in the config. */
export function adaptersFor(config: ChatConfig, deps: AdapterDeps): ChatAdapter[] {
  const list: ChatAdapter[] = [];
  if (config.twitch) list.push(new TwitchAdapter(config.twitch, deps));
  if (config.kick) list.push(new KickAdapter(config.kick, deps));
  if (config.youtube) list.push(new YouTubeAdapter(config.youtube, deps, { commandPrefix: config.prefix }));
  return list;
}

/** Runs every configured platform, feeds their messages through the pipeline, replies, audits. */
export class ChatBridge {
  private config: ChatConfig;
  private cooldowns: CooldownState = EMPTY_COOLDOWNS;
  private readonly adapters: ChatAdapter[];
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly pending = new Set<Promise<unknown>>();
  /** Texts we sent, per platform, until when an identical incoming line counts as our own echo. */
  private readonly echoes = new Map<string, number>();
  /** Platforms whose revoked sign-in was already reported: one event per revocation. */
  private readonly revoked = new Set<Platform>();

  constructor(private readonly opts: ChatBridgeOptions) {
    this.config = opts.config;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? createLogger('chat');
    const deps: AdapterDeps = {
      getSecret: opts.getSecret,
      ...(opts.setSecret ? { setSecret: opts.setSecret } : {}),
      onMessage: (msg) => this.track(this.handle(msg)),
      onState: (s) => this.stateChanged(s),
      log: this.log,
      ...(opts.reconnect ? { reconnect: opts.reconnect } : {}),
    };
    this.adapters = opts.adapters ? opts.adapters(deps) : adaptersFor(this.config, deps);
  }

  async start(): Promise<void> {
    await Promise.all(this.adapters.map((a) => a.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.adapters.map((a) => a.stop()));
    await Promise.allSettled([...this.pending]);
  }

  states(): ChatPlatformState[] {
    return this.adapters.map((a) => a.state());
  }

  currentConfig(): ChatConfig {
    return this.config;
  }

  /** New `[chat]` values (config reload, dock edit). Platform sections take effect on restart. */
  setConfig(config: ChatConfig): void {
    this.config = config;
  }

  /**
   * Announces an automatic switch on every connected platform that can write, when
   * `announce_auto_switch` is on. Resolves with the platforms that took the message.
   */
  async announce(text: string): Promise<Platform[]> {
    if (!this.config.announce_auto_switch) return [];
    const results = await Promise.all(
      this.adapters.map(async (a) => ((await this.send(a, text)) ? a.platform : null)),
    );
    return results.filter((p): p is Platform => p !== null);
  }

  /** One chat message through the whole pipeline. Resolves with its audit record (null: not a command). */
  async handle(msg: IncomingChatMessage): Promise<ChatAuditRecord | null> {
    const now = this.now();
    if (this.isEcho(msg, now)) return null;
    const decision = decide(msg, this.config, this.cooldowns, now);
    if (decision.kind === 'ignore') return null;
    this.cooldowns = decision.cooldowns;
    const requestId = randomUUID();
    let record: ChatAuditRecord;
    let reply: string | null;
    if (decision.kind === 'refuse') {
      record = auditRecord(decision.attempt, decision.outcome, decision.detail, requestId, now);
      reply = decision.reply;
    } else {
      const done = await execute(decision, msg, this.opts.actions, requestId);
      // What chat changed in `[chat]` (aliases, prefix, announcements) applies from the next message.
      if (done.outcome === 'accepted') this.config = chatConfigAfter(this.config, decision.invocation);
      record = auditRecord(decision.attempt, done.outcome, done.detail, requestId, now);
      reply = done.reply;
    }
    this.record(record);
    if (reply) await this.reply(msg.platform, reply);
    return record;
  }

  /** Resolves when every message received so far has been handled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((e) => this.log.error({ err: e }, 'chat: handler failed'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private record(record: ChatAuditRecord): void {
    try {
      this.opts.audit?.append(record);
    } catch (e) {
      this.log.error({ err: e }, 'chat: audit log append failed');
    }
    this.opts.metrics?.chatCommandsTotal.inc({
      platform: record.platform,
      // Only known command names become label values: chat text must not create series.
      command: isCommandName(record.command) ? record.command : 'unknown',
      outcome: record.outcome,
    });
    this.log.info(
      {
        platform: record.platform,
        user: record.user_name,
        command: record.command,
        outcome: record.outcome,
        request_id: record.request_id,
      },
      'chat command',
    );
    try {
      this.opts.onEvent?.(record);
    } catch (e) {
      this.log.error({ err: e }, 'chat: event listener failed');
    }
  }

  private async reply(platform: Platform, text: string): Promise<void> {
    const adapter = this.adapters.find((a) => a.platform === platform);
    if (!adapter) return;
    await this.send(adapter, text);
  }

  /**
   * Kick and YouTube show our own replies and announcements in the chat we read. An incoming line
   * equal to one we sent on that platform within the last minute is ours and never runs.
   */
  private async send(adapter: ChatAdapter, text: string): Promise<boolean> {
    const now = this.now();
    for (const [k, until] of this.echoes) if (until <= now) this.echoes.delete(k);
    this.echoes.set(`${adapter.platform}\n${text.trim()}`, now + ECHO_WINDOW_MS);
    try {
      return await adapter.send(text);
    } catch (e) {
      this.log.warn({ platform: adapter.platform, err: e }, 'chat: send failed');
      return false;
    }
  }

  private isEcho(msg: IncomingChatMessage, now: number): boolean {
    const until = this.echoes.get(`${msg.platform}\n${msg.text.trim()}`);
    return until !== undefined && until > now;
  }

  private stateChanged(s: ChatPlatformState): void {
    const revoked = s.auth?.kind === 'revoked';
    if (revoked && !this.revoked.has(s.platform)) {
      this.revoked.add(s.platform);
      this.opts.onAuthRevoked?.(
        s.platform,
        `chat ${s.platform}: sign in again — ${s.auth?.problem ?? 'the saved sign-in was refused'}; \`telemy chat login ${s.platform}\``,
      );
    } else if (!revoked) this.revoked.delete(s.platform);
    this.opts.metrics?.chatConnected.set({ platform: s.platform }, s.connected ? 1 : 0);
    this.opts.onState?.(this.states());
  }
}
