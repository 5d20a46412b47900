import { errorText } from '@telemy/protocol';
import type { ActionResult, ChatActions, ChatSource } from './actions.js';
import { executeInvocation, type Invocation, isRead, parseInvocation, USAGE } from './commands.js';
import {
  type ChatConfig,
  COMMAND_NAMES,
  type CommandName,
  type CommandPolicy,
  commandPolicy,
  isCommandName,
  type Platform,
  type Role,
} from './config.js';
import { type CooldownState, coolingKey, globalKey, startCooldowns, userKey } from './cooldown.js';
import { normalizeMessage } from './normalize.js';
import { type ChatIdentity, nameListed, type RoleFlags, resolveRole, roleAtLeast } from './roles.js';

/** One chat message as an adapter hands it over. */
export interface IncomingChatMessage {
  platform: Platform;
  channel: string;
  user_id: string;
  /** Login name (lower-case on Twitch); what `admins` and allow-lists match. */
  user_name: string;
  /** What the reply addresses; defaults to `user_name`. */
  display_name?: string;
  flags: RoleFlags;
  text: string;
}

export const OUTCOMES = [
  'accepted',
  'denied_role',
  'cooldown',
  'unknown',
  'invalid_args',
  'blocked_by_guard',
  'failed',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Who tried what; everything an audit record needs apart from the outcome. */
export interface Attempt {
  platform: Platform;
  channel: string;
  user_id: string;
  user_name: string;
  role: Role;
  /** The resolved command name, or the word typed when it names no command. */
  command: string;
  args: string[];
}

export type Decision =
  | { kind: 'ignore' }
  | {
      kind: 'refuse';
      attempt: Attempt;
      outcome: Exclude<Outcome, 'accepted' | 'blocked_by_guard' | 'failed'>;
      detail: string;
      reply: string | null;
      cooldowns: CooldownState;
    }
  | { kind: 'run'; attempt: Attempt; invocation: Invocation; help: string; cooldowns: CooldownState };

export interface Executed {
  outcome: Extract<Outcome, 'accepted' | 'blocked_by_guard' | 'failed'>;
  detail: string;
  reply: string | null;
}

const MAX_REPLY_CHARS = 300;
const MAX_AUDIT_ARGS = 10;
const MAX_AUDIT_ARG_CHARS = 100;
/** Refusal notices to users below moderator: at most one per user per window (no reply spam). */
export const NOTICE_WINDOW_MS = 30_000;

function auditArgs(args: readonly string[]): string[] {
  return args.slice(0, MAX_AUDIT_ARGS).map((a) => a.slice(0, MAX_AUDIT_ARG_CHARS));
}

/** Command name for a typed word: a command's own name first, then the configured aliases. */
export function resolveCommand(config: ChatConfig, word: string): CommandName | null {
  if (isCommandName(word)) return word;
  return (
    COMMAND_NAMES.find((n) => commandPolicy(config, n).aliases.some((a) => a.toLowerCase() === word)) ?? null
  );
}

/** Role check with the allow-list: listed users may run the command whatever their role. */
export function mayRun(policy: CommandPolicy, role: Role, who: ChatIdentity): boolean {
  return roleAtLeast(role, policy.role) || nameListed(policy.users, who);
}

export function helpText(config: ChatConfig, role: Role, who: ChatIdentity): string {
  const usable = COMMAND_NAMES.filter((n) => mayRun(commandPolicy(config, n), role, who));
  return `you can use: ${usable.map((n) => `${config.prefix}${n}${n === 'telemy' ? USAGE.telemy : ''}`).join(' ')}`;
}

export function formatReply(msg: IncomingChatMessage, text: string): string {
  const full = `@${msg.display_name ?? msg.user_name} ${text}`;
  return full.length > MAX_REPLY_CHARS ? `${full.slice(0, MAX_REPLY_CHARS - 1)}…` : full;
}

/**
 * The pure part of the pipeline: normalisation, command resolution, role and allow-list,
 * argument validation, cooldowns. Returns the new cooldown state with every refusal or run.
 */
export function decide(
  msg: IncomingChatMessage,
  config: ChatConfig,
  cooldowns: CooldownState,
  now: number,
): Decision {
  const norm = normalizeMessage(msg.text, config.prefix);
  if (norm.kind === 'not_command') return { kind: 'ignore' };
  const role = resolveRole(msg.flags, msg, config.admins);
  const base = {
    platform: msg.platform,
    channel: msg.channel,
    user_id: msg.user_id,
    user_name: msg.user_name,
    role,
  };
  if (norm.kind === 'rejected') {
    const command = resolveCommand(config, norm.word) ?? norm.word.slice(0, MAX_AUDIT_ARG_CHARS);
    const attempt: Attempt = { ...base, command, args: [] };
    return { kind: 'refuse', attempt, outcome: 'invalid_args', detail: norm.detail, reply: null, cooldowns };
  }
  const command = resolveCommand(config, norm.word);
  const args = auditArgs(norm.args);
  if (!command) {
    const attempt: Attempt = { ...base, command: norm.word.slice(0, MAX_AUDIT_ARG_CHARS), args };
    return { kind: 'refuse', attempt, outcome: 'unknown', detail: 'unknown command', reply: null, cooldowns };
  }
  const attempt: Attempt = { ...base, command, args };
  const policy = commandPolicy(config, command);

  const noticeKey = `notice:${msg.platform}:${msg.user_id}`;
  const throttled = !roleAtLeast(role, 'moderator');
  const notice = (outcome: 'denied_role' | 'invalid_args', detail: string, text: string): Decision => {
    if (throttled && coolingKey(cooldowns, [noticeKey], now)) {
      return { kind: 'refuse', attempt, outcome, detail, reply: null, cooldowns };
    }
    const next = throttled
      ? startCooldowns(cooldowns, [{ key: noticeKey, ms: NOTICE_WINDOW_MS }], now)
      : cooldowns;
    return { kind: 'refuse', attempt, outcome, detail, reply: formatReply(msg, text), cooldowns: next };
  };

  if (!mayRun(policy, role, msg)) {
    return notice('denied_role', `needs ${policy.role}`, `${config.prefix}${command} needs ${policy.role}`);
  }
  const parsed = parseInvocation(command, norm.args, config);
  if ('error' in parsed) return notice('invalid_args', parsed.error, parsed.error);

  const bypass = role === 'broadcaster' || role === 'admin';
  const read = isRead(parsed);
  const userWindow = { key: userKey(msg.platform, msg.user_id, command), ms: policy.user_cooldown_s * 1000 };
  const windows = [{ key: globalKey(command), ms: policy.cooldown_s * 1000 }, userWindow];
  if (!bypass) {
    // A read is held back only by the caller's own window: another user's change does not hide the value.
    const cooling = coolingKey(
      cooldowns,
      (read ? [userWindow] : windows).map((w) => w.key),
      now,
    );
    if (cooling) {
      const until = cooldowns.until[cooling] ?? now;
      const detail = `${cooling.startsWith('cmd:') ? 'global' : 'user'} cooldown until ${until}`;
      // Moderators hear once per window why nothing happened; viewers never (no reply spam).
      const noteKey = `cdnote:${msg.platform}:${msg.user_id}:${cooling}`;
      if (throttled || coolingKey(cooldowns, [noteKey], now)) {
        return { kind: 'refuse', attempt, outcome: 'cooldown', detail, reply: null, cooldowns };
      }
      const seconds = Math.ceil((until - now) / 1000);
      return {
        kind: 'refuse',
        attempt,
        outcome: 'cooldown',
        detail,
        reply: formatReply(msg, `${config.prefix}${command} is on cooldown for ${seconds} s`),
        cooldowns: startCooldowns(cooldowns, [{ key: noteKey, ms: until - now }], now),
      };
    }
  }
  // Bypassing users still start the windows: a broadcaster's `!brb` keeps a mod's duplicate out.
  const next = read ? cooldowns : startCooldowns(cooldowns, windows, now);
  return {
    kind: 'run',
    attempt,
    invocation: parsed,
    help: helpText(config, role, msg),
    cooldowns: next,
  };
}

/** The I/O part: runs an accepted command through ChatActions; never rejects. */
export async function execute(
  decision: Extract<Decision, { kind: 'run' }>,
  msg: IncomingChatMessage,
  actions: ChatActions,
  requestId: string,
): Promise<Executed> {
  const source: ChatSource = {
    kind: 'chat',
    platform: msg.platform,
    user_name: msg.user_name,
    request_id: requestId,
  };
  let result: ActionResult;
  try {
    result = await executeInvocation(decision.invocation, actions, source, decision.help);
  } catch (e) {
    return {
      outcome: 'failed',
      detail: errorText(e).slice(0, 200),
      reply: formatReply(msg, `${decision.attempt.command} failed`),
    };
  }
  const reply = result.reply ? formatReply(msg, result.reply) : null;
  if (result.blocked_by_guard) {
    return { outcome: 'blocked_by_guard', detail: result.detail ?? result.blocked_by_guard, reply };
  }
  return { outcome: result.ok ? 'accepted' : 'failed', detail: result.detail ?? '', reply };
}
