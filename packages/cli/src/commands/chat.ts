import {
  chatLogin,
  defaultClientSecretKey,
  type LoginPrompt,
  OAUTH_PLATFORMS,
  oauthEntryName,
  PLATFORMS,
  type Platform,
  serializeTokenRecord,
} from '@telemy/engine/chat-auth';
import { type Command, InvalidArgumentError } from 'commander';
import { CliError, loadCliConfig, openCliVault } from '../context.js';

/** The loopback port Kick redirects to after its sign-in; the app must list `http://127.0.0.1:<port>/callback`. */
export const DEFAULT_REDIRECT_PORT = 7071;

/** `telemy chat login twitch|kick|youtube`: the platform's OAuth sign-in, tokens into the vault. */
export function registerChat(program: Command): void {
  const chat = program.command('chat').description('chat platforms: sign the bot in');
  chat
    .command('login')
    .description(
      "sign the chat bot in (Twitch and YouTube: a code to enter on the platform's page; Kick: a browser sign-in) and store its refreshing tokens in the vault",
    )
    .argument('<platform>', PLATFORMS.join(' | '), (v: string) => {
      if (!(PLATFORMS as readonly string[]).includes(v))
        throw new InvalidArgumentError(`must be one of ${PLATFORMS.join(', ')}`);
      return v as Platform;
    })
    .option(
      '--port <port>',
      `Kick: loopback port of the redirect (the app's redirect URI is http://127.0.0.1:<port>/callback)`,
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535)
          throw new InvalidArgumentError('must be a port number');
        return n;
      },
      DEFAULT_REDIRECT_PORT,
    )
    .action(async (platform: Platform, opts: { port: number }, cmd: Command) => {
      const cfg = loadCliConfig(cmd).config;
      const section = cfg.chat[platform];
      if (!section)
        throw new CliError(`no [chat.${platform}] section in the config: add it (with client_id) first`, 2);
      const vault = await openCliVault();
      const secret = vault.get(section.client_secret_key ?? defaultClientSecretKey(platform));
      const record = await chatLogin({
        platform,
        config: section,
        clientSecret: secret,
        prompt: (p) => process.stdout.write(promptText(platform, p)),
        redirectPort: opts.port,
      });
      vault.set(oauthEntryName(platform), serializeTokenRecord(record));
      process.stdout.write(
        `signed in to ${platform} as ${record.account ?? '(account name not given)'} with ${record.scopes.join(' ') || OAUTH_PLATFORMS[platform].scopes.join(' ')}; stored in the vault as ${oauthEntryName(platform)}\n`,
      );
      if (section.token_key && vault.has(section.token_key))
        process.stdout.write(
          `the pasted token ${section.token_key} is no longer used: the sign-in takes precedence\n`,
        );
      process.stdout.write('a running Telemy uses the new sign-in after its next start\n');
    });
}

function promptText(platform: Platform, p: LoginPrompt): string {
  if (p.kind === 'device')
    return `To sign in to ${platform}, open ${p.url} and enter the code ${p.code} (valid ${Math.round(p.expires_in_s / 60)} min). Waiting…\n`;
  return `To sign in to ${platform}, open this address in your browser (the app's redirect URI must be ${p.redirect_uri}):\n${p.url}\nWaiting…\n`;
}
