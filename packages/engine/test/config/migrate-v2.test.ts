import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { ConfigError, isV2Config, loadConfig, migrateV2 } from '../../src/config/index.js';

const V2 = `[obs]
host = "localhost"
port = 4455
password = "plain-text-pw"

[server]
port = 7071

[vault]
path = "vault.json"

[grafana]
enabled = true
endpoint = "https://otlp-gateway-prod-eu-west-0.grafana.net/otlp"
username = "123456"
push_interval_ms = 10000

[aegis]
enabled = true
base_url = "https://aegis.example.com"

[network]
latency_target = "1.1.1.1"

[startup]
enable_autostart = true

[tray]
enable = true

[theme]
accent = "purple"

[output_names]
adv_stream = "Horizontal"
"obs-aitum-vertical" = "Vertical"
`;

describe('v0.0.2 config', () => {
  it('is recognised and refused at start with the migrate command named', () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'telemy-v2-')), 'config.toml');
    writeFileSync(f, V2);
    try {
      loadConfig({ configPath: f, env: {} });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).lines[0]).toContain(`telemy config migrate --config ${f}`);
    }
  });

  it('converts grafana → otlp, aegis → cloud remote, output_names → outputs and reports the rest', () => {
    const raw = parse(V2) as Record<string, unknown>;
    expect(isV2Config(raw)).toBe(true);
    const { config, dropped } = migrateV2(raw);
    expect(config).toMatchObject({
      config_version: 3,
      obs: { host: 'localhost', port: 4455 },
      server: { port: 7071 },
      otlp: {
        enabled: true,
        endpoint: 'https://otlp-gateway-prod-eu-west-0.grafana.net/otlp',
        interval_ms: 10000,
      },
      cloud: { mode: 'remote', base_url: 'https://aegis.example.com' },
      outputs: [
        { obs_id: 'adv_stream', display_name: 'Horizontal' },
        { obs_id: 'obs-aitum-vertical', display_name: 'Vertical' },
      ],
    });
    const keys = dropped.map((d) => d.key).sort();
    expect(keys).toEqual(
      [
        'grafana.username',
        'network.latency_target',
        'obs.password',
        'startup.enable_autostart',
        'theme.accent',
        'tray.enable',
        'vault.path',
      ].sort(),
    );
    expect(dropped.find((d) => d.key === 'obs.password')?.reason).toContain('telemy vault set');
    expect(JSON.stringify(config)).not.toContain('plain-text-pw');
  });

  it('`telemy config migrate` writes the v3 file, a .v2.bak backup and the report', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'telemy-v2cli-'));
    const f = path.join(dir, 'config.toml');
    writeFileSync(f, V2);
    const cli = path.resolve(__dirname, '../../../cli/bin/telemy.js');
    const r = spawnSync(process.execPath, [cli, 'config', 'migrate', '--config', f], {
      env: { ...process.env, TELEMY_HOME: dir },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(`${f}.v2.bak`, 'utf8')).toBe(V2);
    expect(r.stdout).toContain('tray.enable');
    expect(r.stdout).toContain('network.latency_target');
    expect(readFileSync(f, 'utf8').split('\n')[0]).toBe('config_version = 3');
    expect(loadConfig({ configPath: f, env: {} }).config.cloud.mode).toBe('remote');
    const again = spawnSync(process.execPath, [cli, 'config', 'migrate', '--config', f], {
      encoding: 'utf8',
      env: { ...process.env, TELEMY_HOME: dir },
    });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already config_version 3');
    expect(existsSync(`${f}.v2.bak`)).toBe(true);
  });
});
