import type { Platform } from '../config.js';

/**
 * Each platform's OAuth server and the scopes the chat adapters need, no more: Twitch chats over
 * IRC (read and send), YouTube reads the active broadcast's live chat and inserts replies, Kick
 * reads the public chatroom without a token and sends through the public API.
 */
export interface OAuthPlatform {
  /** How `telemy chat login` signs in: the device-code flow where offered, else authorization code + PKCE. */
  flow: 'device' | 'pkce';
  defaultAuthHost: string;
  scopes: readonly string[];
  /** Paths under the auth host. */
  paths: { token: string; device?: string; authorize?: string; validate?: string };
  /** Whether the token endpoint wants the client secret (Google's device clients and Kick do). */
  needsSecret: boolean;
  /** Where the app is registered, for the messages that ask for a client id. */
  consoleHint: string;
}

export const OAUTH_PLATFORMS: Record<Platform, OAuthPlatform> = {
  twitch: {
    flow: 'device',
    defaultAuthHost: 'https://id.twitch.tv/oauth2',
    scopes: ['chat:read', 'chat:edit'],
    paths: { token: '/token', device: '/device', validate: '/validate' },
    needsSecret: false,
    consoleHint: 'register a Public client at dev.twitch.tv/console',
  },
  youtube: {
    flow: 'device',
    defaultAuthHost: 'https://oauth2.googleapis.com',
    scopes: ['https://www.googleapis.com/auth/youtube'],
    paths: { token: '/token', device: '/device/code' },
    needsSecret: true,
    consoleHint: 'create a "TVs and Limited Input devices" OAuth client in the Google Cloud console',
  },
  kick: {
    flow: 'pkce',
    defaultAuthHost: 'https://id.kick.com',
    scopes: ['user:read', 'chat:write'],
    paths: { token: '/oauth/token', authorize: '/oauth/authorize' },
    needsSecret: true,
    consoleHint: 'create an app at kick.com/settings/developer',
  },
};

/** The vault entry holding a platform's signed-in tokens (one JSON value). */
export function oauthEntryName(platform: Platform): string {
  return `chat_${platform}_oauth`;
}

/** The vault entry of the app's client secret unless `client_secret_key` names another. */
export function defaultClientSecretKey(platform: Platform): string {
  return `chat_${platform}_client_secret`;
}

/** The OAuth settings a platform section may carry, next to its chat keys. */
export interface ChatOAuthConfig {
  /** The app's OAuth client id (public; the secret, when the platform needs one, is in the vault). */
  client_id?: string;
  /** Vault entry of the app's client secret (default `chat_<platform>_client_secret`). */
  client_secret_key?: string;
  /** Base URL of the platform's OAuth server (default the platform's own). */
  auth_host?: string;
}

export function authHost(platform: Platform, config: ChatOAuthConfig | undefined): string {
  return (config?.auth_host ?? OAUTH_PLATFORMS[platform].defaultAuthHost).replace(/\/+$/, '');
}
