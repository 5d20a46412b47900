import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@telemy/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { ARGV_SECRET_PLACEHOLDER, argvSecrets } from '../src/argv-secrets.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-argv-secrets-'));
const log = createLogger('test', { level: 'silent' });
const SECRET = 'PAIRTOKENABCDEF234567';

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('argvSecrets', () => {
  it('hands the program its secret while its command line shows only the placeholder', () => {
    const secrets = argvSecrets({ log, cacheDir: dir });
    expect(secrets.library).not.toBeNull();
    // The shell prints its own kernel-side command line, then the argument main() received.
    const script = 'tr "\\0" " " < /proc/$$/cmdline; echo; echo "$0"';
    const launch = secrets.hide(
      { command: 'sh', args: ['-c', script, `srt://:9000?passphrase=${SECRET}&latency=20`] },
      'sh',
      SECRET,
    );
    expect(launch.args.join(' ')).not.toContain(SECRET);
    const out = spawnSync(launch.command, launch.args, { env: launch.env, encoding: 'utf8' });
    const [cmdline, received] = out.stdout.split('\n');
    expect(cmdline).toContain(`passphrase=${ARGV_SECRET_PLACEHOLDER}&latency=20`);
    expect(cmdline).not.toContain(SECRET);
    expect(received).toBe(`srt://:9000?passphrase=${SECRET}&latency=20`);
  });

  it('leaves the secret to a wrapper it launches through (setpriv) and fills it in for the program only', () => {
    const secrets = argvSecrets({ log, cacheDir: dir });
    // Were the wrapper (`env` here) to fill it in, the program's own command line would carry it.
    const script = 'tr "\\0" " " < /proc/$$/cmdline; echo; echo "$0"';
    const launch = secrets.hide({ command: 'env', args: ['sh', '-c', script, SECRET] }, 'sh', SECRET);
    const out = spawnSync(launch.command, launch.args, { env: launch.env, encoding: 'utf8' });
    const [cmdline, received] = out.stdout.split('\n');
    expect(cmdline).toContain(ARGV_SECRET_PLACEHOLDER);
    expect(cmdline).not.toContain(SECRET);
    expect(received).toBe(SECRET);
  });

  it('falls back to the command line, changing nothing, when the library cannot be built', () => {
    const secrets = argvSecrets({ log, cacheDir: path.join(dir, 'other'), compiler: '/nonexistent/cc' });
    expect(secrets.library).toBeNull();
    const launch = { command: 'sh', args: ['-c', 'true', SECRET] };
    expect(secrets.hide(launch, 'sh', SECRET)).toBe(launch);
  });
});
