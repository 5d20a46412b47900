import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function load(body: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemy-cfg-relay-'));
  const file = path.join(dir, 'config.toml');
  writeFileSync(file, `config_version = 3\n${body}`);
  return loadConfig({ configPath: file, env: { TELEMY_HOME: dir, ...env }, cwd: dir });
}

function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.lines;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('[relay] bind_host and public_host', () => {
  it('are unset by default: the relay then listens everywhere and picks the phone address itself', () => {
    const { relay } = load('').config;
    expect(relay.bind_host).toBeUndefined();
    expect(relay.public_host).toBeUndefined();
  });

  it('take IPv4 addresses from the file or the environment', () => {
    const { relay } = load('[relay]\nbind_host = "0.0.0.0"\n', {
      TELEMY_RELAY_PUBLIC_HOST: '192.168.1.20',
    }).config;
    expect(relay).toMatchObject({ bind_host: '0.0.0.0', public_host: '192.168.1.20' });
  });

  it('refuse a host name or an IPv6 address, naming the key', () => {
    const lines = errorLines(() => load('[relay]\nbind_host = "my-laptop.local"\npublic_host = "fe80::1"\n'));
    expect(lines.some((l) => l.includes('relay.bind_host') && l.includes('must be an IPv4 address'))).toBe(
      true,
    );
    expect(lines.some((l) => l.includes('relay.public_host') && l.includes('must be an IPv4 address'))).toBe(
      true,
    );
  });
});
