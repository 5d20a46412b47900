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

/** True when `name` appears in a list of names, where `platform:name` entries bind to one platform. */
export function nameListed(list: readonly string[], platform: Platform, userName: string): boolean {
  const user = userName.toLowerCase();
  return list.some((entry) => {
    const e = entry.trim().toLowerCase();
    const colon = e.indexOf(':');
    if (colon > 0) return e.slice(0, colon) === platform && e.slice(colon + 1) === user;
    return e === user;
  });
}

export function resolveRole(
  flags: RoleFlags,
  platform: Platform,
  userName: string,
  admins: readonly string[],
): Role {
  if (flags.broadcaster) return 'broadcaster';
  if (nameListed(admins, platform, userName)) return 'admin';
  if (flags.moderator) return 'moderator';
  if (flags.vip) return 'vip';
  return 'public';
}

/** Whether `role` is at or above `minimum`. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(minimum);
}
