import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KickStub } from '../../../test/support/chat-stubs/kick-stub.js';
import { OAuthStub } from '../../../test/support/chat-stubs/oauth-stub.js';
import { YouTubeApiStub } from '../../../test/support/chat-stubs/youtube-stub.js';
import { KICK_DEFAULT_API_HOST } from '../../engine/src/chat/adapters/kick.js';
import { YOUTUBE_DEFAULT_HOST } from '../../engine/src/chat/adapters/youtube.js';
import { checkChatToken, KICK_API_HOST, YOUTUBE_API_HOST } from '../src/commands/doctor-chat.js';

/** A vault of signed-in records and pasted tokens, as `read(key)` sees it. */
function vault(entries: Record<string, string>): (key: string) => string | null {
  return (key) => entries[key] ?? null;
}

function record(accessToken: string, expiresAtMs: number | null, revokedAtMs: number | null = null): string {
  return JSON.stringify({
    version: 1,
    client_id: 'cid',
    access_token: accessToken,
    refresh_token: 'rt',
    obtained_at_ms: Date.now() - 1000,
    expires_at_ms: expiresAtMs,
    scopes: [],
    account: 'telemybot',
    revoked_at_ms: revokedAtMs,
  });
}

/** A real access token of the Twitch OAuth stub, through its device flow (approved at the second poll). */
async function twitchToken(stub: OAuthStub): Promise<string> {
  const form = (o: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(o) });
  const device = (await (
    await fetch(`${stub.authHost}/device`, form({ client_id: 'cid', scopes: 'chat:read chat:edit' }))
  ).json()) as { device_code: string };
  const grant = {
    client_id: 'cid',
    device_code: device.device_code,
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
  };
  await fetch(`${stub.authHost}/token`, form(grant));
  return ((await (await fetch(`${stub.authHost}/token`, form(grant))).json()) as { access_token: string })
    .access_token;
}

let twitch: OAuthStub;
let kick: KickStub;
let youtube: YouTubeApiStub;
beforeAll(async () => {
  twitch = await new OAuthStub({
    platform: 'twitch',
    clientId: 'cid',
    accessTtlS: 3600,
    account: 'telemybot',
  }).start();
  kick = await new KickStub({ tokens: ['kick-good'] }).start();
  youtube = await new YouTubeApiStub({ tokens: ['yt-good'] }).start();
});
afterAll(async () => {
  await Promise.all([twitch.close(), kick.close(), youtube.close()]);
});

describe('telemy doctor: each chat platform token against the platform', () => {
  it('Twitch: a signed-in token is validated (account, lifetime); a refused one fails with what to run', async () => {
    const token = await twitchToken(twitch);
    const section = { channel: 'streamer', auth_host: twitch.authHost };
    const future = Date.now() + 3_600_000;
    expect(
      await checkChatToken('twitch', section, vault({ chat_twitch_oauth: record(token, future) }), 2000),
    ).toEqual({
      level: 'ok',
      what: 'chat twitch token',
      // The stub counts the hour down from when it issued the token.
      detail: expect.stringMatching(/^Twitch accepts the signed in token of telemybot, expires in (1h|59m)$/),
    });
    expect(
      await checkChatToken(
        'twitch',
        section,
        vault({ chat_twitch_oauth: record('at-forged', future) }),
        2000,
      ),
    ).toEqual({
      level: 'FAIL',
      what: 'chat twitch token',
      detail:
        'Twitch refused the signed in token (HTTP 401: invalid access token) — sign in again: `telemy chat login twitch`',
    });
  });

  it('Twitch: a pasted IRC password (oauth:…) is validated as the token it carries', async () => {
    const token = await twitchToken(twitch);
    const section = { channel: 'streamer', auth_host: twitch.authHost, token_key: 'twitch_token' };
    const check = await checkChatToken('twitch', section, vault({ twitch_token: `oauth:${token}` }), 2000);
    expect(check).toMatchObject({
      level: 'ok',
      detail: expect.stringMatching(/^Twitch accepts the pasted token of telemybot/),
    });
  });

  it('Kick: the public API says whose token it is, or refuses it', async () => {
    const section = { channel: 'streamer', api_host: kick.httpUrl, token_key: 'kick_token' };
    expect(await checkChatToken('kick', section, vault({ kick_token: 'kick-good' }), 2000)).toMatchObject({
      level: 'ok',
      detail: 'Kick accepts the pasted token of telemybot',
    });
    expect(await checkChatToken('kick', section, vault({ kick_token: 'kick-bad' }), 2000)).toMatchObject({
      level: 'FAIL',
      detail:
        'Kick refused the pasted token (HTTP 401: Unauthorized) — sign in again: `telemy chat login kick`',
    });
  });

  it('YouTube: the token names its channel, or Google refuses it', async () => {
    const section = { host: youtube.url };
    const future = Date.now() + 3_600_000;
    const ok = await checkChatToken(
      'youtube',
      section,
      vault({ chat_youtube_oauth: record('yt-good', future) }),
      2000,
    );
    expect(ok).toMatchObject({ level: 'ok', detail: expect.stringMatching(/token of channel Stub Channel/) });
    const bad = await checkChatToken(
      'youtube',
      section,
      vault({ chat_youtube_oauth: record('yt-bad', future) }),
      2000,
    );
    expect(bad).toMatchObject({
      level: 'FAIL',
      detail: expect.stringContaining('HTTP 401: Request had invalid authentication credentials.'),
    });
  });

  it('asks nothing for an expired access token (the engine refreshes it), a revoked sign-in or no token', async () => {
    const section = { host: youtube.url };
    const before = youtube.requests.length;
    const expired = await checkChatToken(
      'youtube',
      section,
      vault({ chat_youtube_oauth: record('yt-good', Date.now() - 1000) }),
      2000,
    );
    expect(expired).toMatchObject({
      level: 'ok',
      detail: expect.stringMatching(/^not checked: access token expired/),
    });
    const revoked = vault({ chat_youtube_oauth: record('yt-good', null, Date.now() - 1000) });
    expect(await checkChatToken('youtube', section, revoked, 2000)).toBeNull();
    expect(await checkChatToken('youtube', section, vault({}), 2000)).toBeNull();
    expect(youtube.requests.length).toBe(before);
  });

  it('an unreachable platform is a warning, not a verdict on the token', async () => {
    const section = { channel: 'streamer', api_host: 'http://127.0.0.1:1', token_key: 'kick_token' };
    expect(await checkChatToken('kick', section, vault({ kick_token: 'kick-good' }), 2000)).toMatchObject({
      level: 'warn',
      detail: expect.stringMatching(/^could not ask Kick/),
    });
  });

  it("asks the platforms' real APIs by default", () => {
    expect(KICK_API_HOST).toBe(KICK_DEFAULT_API_HOST);
    expect(YOUTUBE_API_HOST).toBe(YOUTUBE_DEFAULT_HOST);
  });
});
