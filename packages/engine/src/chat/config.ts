/**
 * The `[chat]` section of the config file (`telemy config init` writes it, commented) as plain
 * data, with the commands' default roles, cooldowns and aliases.
 * The config loader validates the TOML and hands this shape over; ChatBridge never reads files.
 */

import type { ChatOAuthConfig } from './auth/platforms.js';

export const PLATFORMS = ['twitch', 'kick', 'youtube'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Highest first: a role passes a minimum role when it sits at or above it in this list. */
export const ROLES = ['broadcaster', 'admin', 'moderator', 'vip', 'public'] as const;
export type Role = (typeof ROLES)[number];

export const COMMAND_NAMES = [
  'live',
  'low',
  'brb',
  'offline',
  'switch',
  'privacy',
  'starting',
  'ending',
  'status',
  'bitrate',
  'sourceinfo',
  'obsinfo',
  'irl',
  'auto',
  'override',
  'trigger',
  'otrigger',
  'rtrigger',
  'fix',
  'refresh',
  'start',
  'stop',
  'record',
  'notify',
  'prefix',
  'alias',
  'telemy',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface CommandPolicy {
  /** Minimum role. */
  role: Role;
  /** Users who may run the command whatever their role (names, optionally `platform:name`). */
  users: string[];
  /** Extra names for the command, without the prefix. */
  aliases: string[];
  /** Global cooldown across all users and platforms, seconds. */
  cooldown_s: number;
  /** Per-user cooldown, seconds. */
  user_cooldown_s: number;
}

export interface TwitchChatConfig extends ChatOAuthConfig {
  channel: string;
  /** Vault key of the bot's OAuth token; without one the connection is anonymous and read-only. */
  token_key?: string;
  /** `irc://host:port`, `ircs://host:port`, `ws://host:port` or `wss://host:port` (default Twitch's wss). */
  host?: string;
}

export interface KickChatConfig extends ChatOAuthConfig {
  /** Channel slug. */
  channel: string;
  /** Vault key of the OAuth token for Kick's public API; without one the connection is read-only. */
  token_key?: string;
  /** Pusher websocket URL (default Kick's public Pusher app). */
  host?: string;
  /** Base URL of Kick's public API (`POST /public/v1/chat`), default https://api.kick.com. */
  api_host?: string;
  /** Base URL of the site whose `/api/v2/channels/<slug>` gives the chatroom, default https://kick.com. */
  web_host?: string;
  /** Chatroom id; looked up from the channel slug when absent. */
  chatroom_id?: number;
  /** Broadcaster user id for replies; looked up with the chatroom when absent. */
  broadcaster_user_id?: number;
}

export interface YouTubeChatConfig extends ChatOAuthConfig {
  /** Shown in the dock; the live chat itself comes from the active broadcast or `live_chat_id`. */
  channel?: string;
  /** Vault key of the OAuth access token (YouTube Data API v3). */
  token_key?: string;
  /** Base URL of the Data API (default https://www.googleapis.com/youtube/v3). */
  host?: string;
  live_chat_id?: string;
  /** Daily quota of the Google Cloud project, in units. */
  quota_per_day?: number;
  /**
   * How long a broadcast usually lasts, in hours (default 8): the quota is spread over this, so
   * polls follow the API's interval whenever the quota left covers the rest of the broadcast.
   */
  expected_stream_hours?: number;
}

/** Commands that switch to a scene named in the config (`[chat] <command>_scene`). */
export const SCENE_SHORTCUTS = ['privacy', 'starting', 'ending'] as const;
export type SceneShortcut = (typeof SCENE_SHORTCUTS)[number];

export interface ChatConfig {
  prefix: string;
  /** Names with the admin role; `platform:name` limits a name to one platform. */
  admins: string[];
  announce_auto_switch: boolean;
  /** The scenes `!privacy`, `!starting` and `!ending` switch to; a shortcut without one is not set up. */
  privacy_scene?: string;
  starting_scene?: string;
  ending_scene?: string;
  twitch?: TwitchChatConfig;
  kick?: KickChatConfig;
  youtube?: YouTubeChatConfig;
  commands: Partial<Record<CommandName, Partial<CommandPolicy>>>;
}

/** Commands that change something; they get the 5 s global cooldown by default. */
export const MUTATING_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>([
  'live',
  'low',
  'brb',
  'offline',
  'switch',
  'privacy',
  'starting',
  'ending',
  'irl',
  'auto',
  'override',
  'trigger',
  'otrigger',
  'rtrigger',
  'fix',
  'refresh',
  'start',
  'stop',
  'record',
  'notify',
  'prefix',
  'alias',
]);

const DEFAULT_ROLES: Record<CommandName, Role> = {
  live: 'moderator',
  low: 'moderator',
  brb: 'moderator',
  offline: 'moderator',
  switch: 'moderator',
  privacy: 'moderator',
  starting: 'moderator',
  ending: 'moderator',
  status: 'public',
  bitrate: 'public',
  sourceinfo: 'public',
  obsinfo: 'moderator',
  irl: 'broadcaster',
  auto: 'moderator',
  override: 'moderator',
  trigger: 'moderator',
  otrigger: 'moderator',
  rtrigger: 'moderator',
  fix: 'moderator',
  refresh: 'moderator',
  start: 'broadcaster',
  stop: 'broadcaster',
  record: 'broadcaster',
  notify: 'moderator',
  prefix: 'admin',
  alias: 'admin',
  telemy: 'public',
};

/** Commands that only report, with the same answer for everyone. */
const READOUTS: ReadonlySet<CommandName> = new Set<CommandName>([
  'status',
  'bitrate',
  'sourceinfo',
  'obsinfo',
]);

export const DEFAULT_GLOBAL_COOLDOWN_S = 5;
export const DEFAULT_PUBLIC_USER_COOLDOWN_S = 30;

function defaultPolicy(name: CommandName): CommandPolicy {
  const role = DEFAULT_ROLES[name];
  return {
    role,
    users: [],
    aliases: [],
    // The readouts answer the same for everyone, so a burst of them gets one reply;
    // `!telemy help` answers per caller and is limited per user only.
    cooldown_s: MUTATING_COMMANDS.has(name) || READOUTS.has(name) ? DEFAULT_GLOBAL_COOLDOWN_S : 0,
    user_cooldown_s: role === 'public' ? DEFAULT_PUBLIC_USER_COOLDOWN_S : 0,
  };
}

/** Default policy of every command (role, cooldowns), for the config loader and `config init`. */
export const COMMAND_DEFAULTS: Readonly<Record<CommandName, Readonly<CommandPolicy>>> = Object.fromEntries(
  COMMAND_NAMES.map((n) => [n, defaultPolicy(n)]),
) as Record<CommandName, CommandPolicy>;

export const CHAT_DEFAULTS: Readonly<ChatConfig> = {
  prefix: '!',
  admins: [],
  announce_auto_switch: false,
  commands: {},
};

/** Bounds the config loader applies to the `[chat]` keys. */
export const CHAT_BOUNDS = {
  prefixMaxLength: 3,
  cooldownMaxS: 3600,
  aliasPattern: /^[a-z0-9_]{1,25}$/,
  youtubeQuotaMin: 100,
  youtubeStreamHours: { min: 0.25, max: 48 },
} as const;

/** The effective policy of a command: the defaults overlaid with `[chat.commands.<name>]`. */
export function commandPolicy(config: ChatConfig, name: CommandName): CommandPolicy {
  const base = COMMAND_DEFAULTS[name];
  const own = config.commands[name] ?? {};
  return {
    role: own.role ?? base.role,
    users: own.users ?? base.users,
    aliases: own.aliases ?? base.aliases,
    cooldown_s: own.cooldown_s ?? base.cooldown_s,
    user_cooldown_s: own.user_cooldown_s ?? base.user_cooldown_s,
  };
}

export function isCommandName(s: string): s is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(s);
}

/** Why a prefix is unusable, or null. A prefix is 1-3 visible characters that NFKC leaves alone. */
export function prefixProblem(prefix: string): string | null {
  if (prefix.length === 0 || [...prefix].length > CHAT_BOUNDS.prefixMaxLength) {
    return `must be 1-${CHAT_BOUNDS.prefixMaxLength} characters`;
  }
  if (/[\s\p{C}]/u.test(prefix)) return 'must not contain spaces or control characters';
  if (/[\p{L}\p{N}]/u.test(prefix)) return 'must not contain letters or digits';
  if (prefix.normalize('NFKC') !== prefix)
    return 'must be in NFKC form (no full-width or compatibility characters)';
  return null;
}

/** The config with an alias added (`command` set) or removed (`command` null) everywhere. */
export function withAlias(config: ChatConfig, alias: string, command: CommandName | null): ChatConfig {
  const commands: ChatConfig['commands'] = {};
  for (const name of COMMAND_NAMES) {
    const own = config.commands[name];
    const aliases = commandPolicy(config, name).aliases.filter((a) => a !== alias);
    if (name === command) aliases.push(alias);
    if (own || aliases.length > 0 || name === command) commands[name] = { ...own, aliases };
  }
  return { ...config, commands };
}
