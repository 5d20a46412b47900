import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseRelayConfig, relayConfigFromEnv } from '@telemy/relay/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The systemd units in deploy/systemd, checked without a running systemd: `systemd-analyze verify`
 * and `security --offline` read them inside a scratch root that holds the host's own system units,
 * a `telemy` command (running the repository's bin) and the user `systemd-sysusers` creates from our file.
 */
const REPO = path.resolve(import.meta.dirname, '../../..');
const UNITS_DIR = path.join(REPO, 'deploy', 'systemd');
const UNITS = ['telemy-control-plane.service', 'telemy-relay.service'];
const BIN = path.join(REPO, 'packages', 'cli', 'bin', 'telemy.js');

let root: string;

function analyze(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', [...args, `--root=${root}`], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `Key=value` lines of a unit or environment file, comments and blank lines left out. */
function assignments(file: string): [string, string][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Za-z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'telemy-systemd-'));
  for (const d of ['usr/lib/systemd', 'usr/lib/sysusers.d', 'usr/local/bin', 'etc/systemd/system'])
    mkdirSync(path.join(root, d), { recursive: true });
  symlinkSync('/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'));
  for (const unit of UNITS)
    copyFileSync(path.join(UNITS_DIR, unit), path.join(root, 'etc/systemd/system', unit));
  copyFileSync(
    path.join(UNITS_DIR, 'telemy.sysusers.conf'),
    path.join(root, 'usr/lib/sysusers.d/telemy.conf'),
  );
  execFileSync('systemd-sysusers', [`--root=${root}`], { stdio: 'pipe' });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('deploy/systemd', () => {
  it('verifies once the telemy command is installed, and names it when it is missing', () => {
    const units = UNITS.map((u) => `/etc/systemd/system/${u}`);
    const missing = analyze(['verify', ...units]);
    expect(missing.status).not.toBe(0);
    expect(missing.output).toMatch(/Command telemy is not executable/);

    // A script, not a symlink: systemd resolves links inside the root, where the repository is not.
    writeFileSync(path.join(root, 'usr/local/bin/telemy'), `#!/bin/sh\nexec node ${BIN} "$@"\n`, {
      mode: 0o755,
    });
    const verified = analyze(['verify', ...units]);
    expect(verified.output).toBe('');
    expect(verified.status).toBe(0);
  });

  it.each(UNITS)('%s is sandboxed: exposure at most 2.0 ("OK") by systemd-analyze security', (unit) => {
    const r = analyze(['security', '--offline=yes', '--threshold=20', `/etc/systemd/system/${unit}`]);
    expect(r.output).toMatch(/Overall exposure level for .*: [0-1]\.\d OK/);
    expect(r.status).toBe(0);
  });

  it.each(UNITS)('%s runs as the dedicated user the sysusers file creates, with a restart policy', (unit) => {
    const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8');
    const settings = new Map(assignments(path.join(UNITS_DIR, unit)));
    expect(passwd).toMatch(new RegExp(`^${settings.get('User')}:x:\\d+:\\d+:.*:/usr/sbin/nologin$`, 'm'));
    expect(settings.get('Restart')).toBe('on-failure');
    expect(settings.get('EnvironmentFile')).toMatch(/^\/etc\/telemy\/.+\.env$/);
  });

  it.each([
    ['telemy-control-plane.service', 'control-plane'],
    ['telemy-relay.service', 'relay'],
  ])('%s starts a command the CLI has (%s)', (unit, command) => {
    const exec = new Map(assignments(path.join(UNITS_DIR, unit))).get('ExecStart') ?? '';
    expect(exec.split(' ').slice(0, 2)).toEqual(['telemy', command]);
    const help = spawnSync(process.execPath, [BIN, ...exec.split(' ').slice(1), '--help'], {
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: telemy ${command}`));
  });

  it('the relay example environment is a configuration the agent accepts', () => {
    const env = Object.fromEntries(assignments(path.join(UNITS_DIR, 'relay.env.example')));
    const config = parseRelayConfig(relayConfigFromEnv(env));
    expect(config.sessionId).toBe(env.TELEMY_RELAY_SESSION_ID);
    expect(config.controlPlaneUrl).toBe(env.TELEMY_RELAY_CONTROL_PLANE_URL);
  });

  it('the control-plane example environment sets only variables the control plane reads', () => {
    const readers = [
      path.join(REPO, 'packages/control-plane/src'),
      path.join(REPO, 'packages/cli/src/commands/control-plane.ts'),
    ];
    const sources = execFileSync('grep', ['-rhoE', 'TELEMY_[A-Z_]+', ...readers], { encoding: 'utf8' });
    const known = new Set(sources.split('\n'));
    const names = assignments(path.join(UNITS_DIR, 'control-plane.env.example')).map(([k]) => k);
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) expect(known.has(name), name).toBe(true);
  });
});
