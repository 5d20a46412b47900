import { type Platform, ROLES, type Role } from './config.js';

/** What a platform says about a chatter, reduced to the three facts roles are built from. */
export interface RoleFlags {
  broadcaster: boolean;
  moderator: boolean;
  vip: boolean;
}

export const NO_FLAGS: RoleFlags = { broadcaster: false, moderator: false, vip: false };

/** Twitch IRCv3 `badges` tag (`broadcaster/1,moderator/1,vip/1,...`), as a map or the raw tag. */
export function twitchFlags(badges: ReadonlyMap<string, string> | string | undefined): RoleFlags {
  const names = new Set<string>();
  if (typeof badges === 'string') {
    for (const part of badges.split(',')) {
      const name = part.split('/')[0];
      if (name) names.add(name);
    }
  } else if (badges) {
    for (const name of badges.keys()) names.add(name);
  }
  return {
    broadcaster: names.has('broadcaster'),
    moderator: names.has('moderator') || names.has('lead_moderator'),
    vip: names.has('vip'),
  };
}

/** Kick `sender.identity.badges` (`[{ type: 'moderator', text: 'Moderator' }, ...]`). */
export function kickFlags(badges: unknown): RoleFlags {
  const types = new Set<string>();
  if (Array.isArray(badges)) {
    for (const b of badges) {
      if (b && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string') {
        types.add((b as { type: string }).type);
      }
    }
  }
  return { broadcaster: types.has('broadcaster'), moderator: types.has('moderator'), vip: types.has('vip') };
}

/** YouTube `authorDetails` flags; channel members (sponsors) rank as VIP. */
export function youtubeFlags(author: {
  isChatOwner?: boolean;
  isChatModerator?: boolean;
  isChatSponsor?: boolean;
}): RoleFlags {
  return {
    broadcaster: author.isChatOwner === true,
    moderator: author.isChatModerator === true,
    vip: author.isChatSponsor === true,
  };
}

/** Who a list entry is compared with. */
export interface ChatIdentity {
  platform: Platform;
  user_id: string;
  user_name: string;
}

/**
 * Whether a user appears in a list of names (`chat.admins`, a command's `users`). An entry
 * `platform:value` matches that platform's login name or user id; a bare entry matches the login
 * name on Twitch and Kick, where names are unique. YouTube display names are not unique, so a
 * YouTube user only matches `youtube:<channel id>` (or `youtube:<name>` at the streamer's own risk).
 */
export function nameListed(list: readonly string[], who: ChatIdentity): boolean {
  const name = who.user_name.toLowerCase();
  const id = who.user_id.toLowerCase();
  return list.some((entry) => {
    const e = entry.trim().toLowerCase();
    const colon = e.indexOf(':');
    if (colon > 0) {
      const value = e.slice(colon + 1);
      return e.slice(0, colon) === who.platform && (value === name || value === id);
    }
    return who.platform !== 'youtube' && e === name;
  });
}

export function resolveRole(flags: RoleFlags, who: ChatIdentity, admins: readonly string[]): Role {
  if (flags.broadcaster) return 'broadcaster';
  if (nameListed(admins, who)) return 'admin';
  if (flags.moderator) return 'moderator';
  if (flags.vip) return 'vip';
  return 'public';
}

/** Whether `role` is at or above `minimum`. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(minimum);
}
