import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { KickStub } from '../../../test/support/chat-stubs/kick-stub.js';
import { OAuthStub } from '../../../test/support/chat-stubs/oauth-stub.js';
import { newTelemyHome, TELEMY_BIN, writeConfig } from '../../../test/support/telemy-process.js';

/** `telemy chat login` as a user runs it, against token endpoint stubs; the stubs live in this process. */

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the stubs answer from its event loop); `onOut` sees stdout as it comes. */
function run(args: string[], home: string, onOut?: (text: string) => void, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TELEMY_BIN, ...args], {
      env: { ...process.env, TELEMY_HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOut?.(stdout);
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.stdin.end(input ?? '');
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function home(): string {
  const h = newTelemyHome();
  cleanups.push(() => rmSync(h, { recursive: true, force: true }));
  return h;
}

describe('telemy chat login', () => {
  it('Twitch: the device code is shown, the tokens land in the vault (not in the output), doctor shows the sign-in', async () => {
    const stub = await new OAuthStub({
      platform: 'twitch',
      clientId: 'cid',
      accessTtlS: 3600,
      account: 'telemybot',
    }).start();
    cleanups.push(() => stub.close());
    const h = home();
    writeConfig(
      h,
      `[chat.twitch]\nchannel = "streamer"\nclient_id = "cid"\nauth_host = "${stub.authHost}"\n`,
    );
    const login = await run(['chat', 'login', 'twitch'], h);
    expect(login.stderr).toBe('');
    expect(login.status).toBe(0);
    expect(login.stdout).toContain(`open ${stub.url}/activate and enter the code ABCD-EFGH`);
    expect(login.stdout).toContain('signed in to twitch as telemybot with chat:read chat:edit');
    const [access] = stub.issued();
    expect(access).toBeDefined();
    expect(login.stdout).not.toContain(access);

    const stored = await run(['vault', 'get', 'chat_twitch_oauth'], h);
    expect(JSON.parse(stored.stdout)).toMatchObject({
      access_token: access,
      account: 'telemybot',
      client_id: 'cid',
    });

    const doctor = await run(['doctor', '--timeout', '300'], h);
    const line = doctor.stdout.split('\n').find((l) => l.includes('chat twitch'));
    expect(line).toMatch(
      /^ok +chat twitch +channel streamer, signed in as telemybot, scopes chat:read chat:edit, token lifetime 1h, expires in (59m|1h)/,
    );
    expect(doctor.stdout).not.toContain(access);
  }, 60_000);

  it('Kick: the browser sign-in with PKCE ends at the loopback listener, and the vault holds the tokens', async () => {
    const stub = await new OAuthStub({
      platform: 'kick',
      clientId: 'cid',
      clientSecret: 'ksecret',
      accessTtlS: 7200,
      account: 'telemybot',
    }).start();
    cleanups.push(() => stub.close());
    const kick = await new KickStub({ accept: (t) => stub.valid(t) }).start();
    cleanups.push(() => kick.close());
    const h = home();
    writeConfig(
      h,
      `[chat.kick]\nchannel = "streamer"\nclient_id = "cid"\nauth_host = "${stub.authHost}"\napi_host = "${kick.httpUrl}"\n`,
    );
    expect((await run(['vault', 'set', 'chat_kick_client_secret'], h, undefined, 'ksecret\n')).status).toBe(
      0,
    );
    let browsed = false;
    const login = await run(['chat', 'login', 'kick', '--port', '0'], h, (out) => {
      const url = /^(http:\/\/\S+\/oauth\/authorize\?\S+)$/m.exec(out)?.[1];
      if (url && !browsed) {
        browsed = true;
        // The test is the browser: the stub's authorize page redirects to the CLI's listener.
        void fetch(url).then((r) => r.text());
      }
    });
    expect(login.stderr).toBe('');
    expect(login.status).toBe(0);
    expect(login.stdout).toMatch(/redirect URI must be http:\/\/127\.0\.0\.1:\d+\/callback/);
    expect(login.stdout).toContain('signed in to kick as telemybot with user:read chat:write');
    const stored = JSON.parse((await run(['vault', 'get', 'chat_kick_oauth'], h)).stdout);
    expect(stub.valid(stored.access_token)).toBe(true);
    expect(stored.refresh_token).toMatch(/^rt-/);
  }, 60_000);

  it('names the missing client id', async () => {
    const h = home();
    writeConfig(h, '[chat.youtube]\n');
    const r = await run(['chat', 'login', 'youtube'], h);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[chat\.youtube\] client_id is not set/);
  }, 60_000);
});
