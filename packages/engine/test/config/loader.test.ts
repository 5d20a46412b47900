import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configSchema,
  defaultConfig,
  defaultConfigText,
  loadConfig,
  resolveConfigPath,
  updateConfigFile,
} from '../../src/config/index.js';
import { envOverrideTargets } from '../../src/config/schema-walk.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'telemy-cfg-'));

function writeCfg(dir: string, body: string, name = 'config.toml'): string {
  const f = path.join(dir, name);
  writeFileSync(f, `config_version = 3\n${body}`);
  return f;
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

describe('config discovery', () => {
  it('follows --config, TELEMY_CONFIG, ./telemy.toml, then the user folder', () => {
    const home = tmp();
    const cwd = tmp();
    const env = { TELEMY_HOME: home } as NodeJS.ProcessEnv;
    expect(resolveConfigPath({ env, cwd })).toEqual({ path: null, source: 'defaults' });
    const user = writeCfg(home, '');
    expect(resolveConfigPath({ env, cwd })).toEqual({ path: user, source: 'user' });
    const local = writeCfg(cwd, '', 'telemy.toml');
    expect(resolveConfigPath({ env, cwd })).toEqual({ path: local, source: 'cwd' });
    const viaEnv = writeCfg(tmp(), '');
    expect(resolveConfigPath({ env: { ...env, TELEMY_CONFIG: viaEnv }, cwd }).source).toBe('env');
    const viaFlag = writeCfg(tmp(), '');
    expect(resolveConfigPath({ env: { ...env, TELEMY_CONFIG: viaEnv }, cwd, configPath: viaFlag })).toEqual({
      path: viaFlag,
      source: 'flag',
    });
  });

  it('uses the defaults when no file exists', () => {
    const loaded = loadConfig({ env: { TELEMY_HOME: tmp() }, cwd: tmp() });
    expect(loaded.path).toBeNull();
    expect(loaded.config).toEqual(defaultConfig());
    expect(loaded.config.failover.low_bitrate_kbps).toBe(800);
    expect(loaded.config.server.port).toBe(7070);
  });

  it('names a missing --config file', () => {
    const lines = errorLines(() => loadConfig({ configPath: '/nonexistent/telemy.toml', env: {} }));
    expect(lines[0]).toContain('/nonexistent/telemy.toml: file not found');
  });
});

describe('config init template', () => {
  it('parses to exactly the schema defaults and starts with config_version', () => {
    const text = defaultConfigText();
    expect(text.split('\n')[0]).toBe('config_version = 3');
    expect(configSchema.parse(parse(text))).toEqual(defaultConfig());
  });
});

describe('environment overrides', () => {
  it('win over the file and are reported', () => {
    const dir = tmp();
    const f = writeCfg(dir, '[obs]\nport = 4455\n[failover]\nlow_bitrate_kbps = 900\n');
    const loaded = loadConfig({
      configPath: f,
      env: {
        TELEMY_OBS_PORT: '4466',
        TELEMY_AUTOMATION_MANUAL_OVERRIDE: 'true',
        TELEMY_SCENES_MANAGED_EXTRA: 'A, B',
      },
    });
    expect(loaded.config.obs.port).toBe(4466);
    expect(loaded.config.failover.low_bitrate_kbps).toBe(900);
    expect(loaded.config.automation.manual_override).toBe(true);
    expect(loaded.config.scenes.managed_extra).toEqual(['A', 'B']);
    expect(loaded.envOverrides.sort()).toEqual([
      'TELEMY_AUTOMATION_MANUAL_OVERRIDE',
      'TELEMY_OBS_PORT',
      'TELEMY_SCENES_MANAGED_EXTRA',
    ]);
  });

  it('an unparseable override is one line naming the variable', () => {
    const lines = errorLines(() =>
      loadConfig({ configPath: writeCfg(tmp(), ''), env: { TELEMY_OBS_PORT: 'abc' } }),
    );
    expect(lines).toEqual([
      'TELEMY_OBS_PORT: obs.port: not a number; allowed: integer 1..65535; found: "abc"',
    ]);
  });

  it('an override out of bounds names the variable, not the file', () => {
    const f = writeCfg(tmp(), '');
    const lines = errorLines(() => loadConfig({ configPath: f, env: { TELEMY_SERVER_PORT: '70000' } }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^TELEMY_SERVER_PORT: server\.port: .*allowed: integer 1\.\.65535; found: "70000"$/,
    );
    expect(lines[0]).not.toContain(f);
  });

  it('a misspelled variable is a warning naming the closest real one', () => {
    const loaded = loadConfig({
      configPath: writeCfg(tmp(), ''),
      env: { TELEMY_OBS_PROT: '4456', TELEMY_SERVR_PORT: '1', TELEMY_HOME: '/x', TELEMY_CP_PORT: '8080' },
    });
    expect(loaded.config.obs.port).toBe(4455);
    expect(loaded.warnings).toEqual([
      'TELEMY_OBS_PROT is not a Telemy setting and is ignored; did you mean TELEMY_OBS_PORT?',
      'TELEMY_SERVR_PORT is not a Telemy setting and is ignored; did you mean TELEMY_SERVER_PORT?',
    ]);
  });

  it('covers every scalar key of every table section', () => {
    const names = envOverrideTargets(configSchema).map((t) => t.envName);
    expect(names).toContain('TELEMY_FAILOVER_RECOVER_AFTER_MS');
    expect(names).toContain('TELEMY_CHAT_TWITCH_CHANNEL');
    expect(names).toContain('TELEMY_LOG_LEVEL');
    expect(names.some((n) => n.startsWith('TELEMY_OUTPUTS'))).toBe(false);
  });
});

describe('bounds of every section', () => {
  const cases: [string, string, RegExp][] = [
    ['[obs]\nport = 0', 'obs.port', /integer 1\.\.65535; found: 0/],
    ['[obs]\nhost = ""', 'obs.host', /found: ""/],
    ['[obs]\npassword_key = "Has Spaces"', 'obs.password_key', /vault key name/],
    ['[server]\nlan_access = "yes"', 'server.lan_access', /true or false; found: "yes"/],
    ['[scenes]\nlive = ""', 'scenes.live', /found: ""/],
    ['[failover]\nsample_interval_ms = 50', 'failover.sample_interval_ms', /integer 100\.\.10000; found: 50/],
    ['[failover]\nlow_bitrate_kbps = -1', 'failover.low_bitrate_kbps', /integer 0\.\.1000000; found: -1/],
    [
      '[failover]\nswitch_deadline_ms = 99999',
      'failover.switch_deadline_ms',
      /integer 100\.\.10000; found: 99999/,
    ],
    ['[failover]\nrecover_after_ms = 1.5', 'failover.recover_after_ms', /found: 1\.5/],
    ['[failover]\noffline_timeout_s = 100000', 'failover.offline_timeout_s', /integer 0\.\.86400/],
    [
      '[failover]\nlow_bitrate_kbps = 500\noffline_bitrate_kbps = 600',
      'failover.offline_bitrate_kbps',
      /must be below low_bitrate_kbps/,
    ],
    ['[automation]\nauto_scene_switch = 1', 'automation.auto_scene_switch', /true or false/],
    ['[[sources]]\nname = "x"\ntype = "rtmp"', 'sources[0].type', /one of obs_output/],
    ['[[sources]]\nname = "x"\ntype = "mediamtx"', 'sources[0].url', /is required for type mediamtx/],
    ['[cloud]\nmode = "cloudy"', 'cloud.mode', /one of embedded \| remote \| off; found: "cloudy"/],
    ['[cloud]\nmode = "remote"', 'cloud.base_url', /is required when mode = "remote"/],
    ['[relay]\nobs_source_name = ""', 'relay.obs_source_name', /found: ""/],
    ['[chat]\nprefix = ""', 'chat.prefix', /must be 1-3 characters; .*found: ""/],
    ['[chat]\nprefix = "！"', 'chat.prefix', /found: "！"/],
    ['[chat.commands.dance]\nrole = "public"', 'chat.commands.dance', /found: \{"role":"public"\}/],
    ['[chat.youtube]\nquota_per_day = 5', 'chat.youtube.quota_per_day', /integer 100\.\./],
    [
      '[chat.youtube]\nexpected_stream_hours = 0.1',
      'chat.youtube.expected_stream_hours',
      /0\.25\.\.48; found: 0\.1/,
    ],
    ['[chat.commands.brb]\nrole = "king"', 'chat.commands.brb.role', /one of broadcaster/],
    ['[chat.commands.brb]\ncooldown_s = 99999', 'chat.commands.brb.cooldown_s', /integer 0\.\.3600/],
    ['[otlp]\ninterval_ms = 10', 'otlp.interval_ms', /integer 1000\.\.3600000; found: 10/],
    ['[otlp]\nenabled = true', 'otlp.endpoint', /is required when enabled = true/],
    ['[[outputs]]\nobs_id = "a"', 'outputs[0].display_name', /is required/],
    ['[log]\nlevel = "loud"', 'log.level', /one of trace/],
    ['[obs]\nprot = 4455', 'obs.prot', /unknown key/],
  ];
  for (const [body, key, re] of cases) {
    it(`${key} is checked`, () => {
      const f = writeCfg(tmp(), `${body}\n`);
      const lines = errorLines(() => loadConfig({ configPath: f, env: {} }));
      const line = lines.find((l) => l.includes(`: ${key}: `));
      expect(line, lines.join('\n')).toBeDefined();
      expect(line?.startsWith(`${f}: `)).toBe(true);
      expect(line).toMatch(re);
      expect(line).toContain('allowed: ');
      expect(line).toContain('found: ');
    });
  }

  it('reports one line per problem, all at once', () => {
    const f = writeCfg(tmp(), '[obs]\nport = 0\n[server]\nport = -5\n[log]\nlevel = "x"\n');
    expect(errorLines(() => loadConfig({ configPath: f, env: {} }))).toHaveLength(3);
  });

  it('rejects invalid TOML naming file:line:column', () => {
    const f = writeCfg(tmp(), '[obs]\nport = 1\nhost = 127.0.0.1\n');
    expect(errorLines(() => loadConfig({ configPath: f, env: {} }))).toEqual([
      expect.stringMatching(new RegExp(`^${f}:4:\\d+: not valid TOML: \\S`)),
    ]);
  });

  it('names a folder given as the config file', () => {
    const dir = tmp();
    expect(errorLines(() => loadConfig({ configPath: dir, env: {} }))).toEqual([
      `${dir}: is a folder, not a config file (named by --config); name the file itself, e.g. ${path.join(dir, 'config.toml')}`,
    ]);
  });

  it('refuses a non-loopback host without lan_access, as the engine does', () => {
    const f = writeCfg(tmp(), '[server]\nhost = "0.0.0.0"\n');
    expect(errorLines(() => loadConfig({ configPath: f, env: {} }))).toEqual([
      `${f}: server.host: is not a loopback address; set server.lan_access = true to serve the network; allowed: text; found: "0.0.0.0"`,
    ]);
    const lan = writeCfg(tmp(), '[server]\nhost = "0.0.0.0"\nlan_access = true\n');
    expect(loadConfig({ configPath: lan, env: {} }).config.server.host).toBe('0.0.0.0');
  });

  it('refuses a newer config_version', () => {
    const f = path.join(tmp(), 'c.toml');
    writeFileSync(f, 'config_version = 4\n');
    expect(errorLines(() => loadConfig({ configPath: f, env: {} }))[0]).toContain(
      'written by a newer Telemy',
    );
  });
});

describe('updateConfigFile', () => {
  it('changes a key in place and keeps comments', () => {
    const dir = tmp();
    const f = path.join(dir, 'config.toml');
    writeFileSync(f, defaultConfigText());
    const cfg = updateConfigFile(f, {
      'failover.low_bitrate_kbps': 1000,
      'automation.manual_override': true,
    });
    expect(cfg.failover.low_bitrate_kbps).toBe(1000);
    const text = readFileSync(f, 'utf8');
    expect(text).toContain('low_bitrate_kbps = 1000');
    expect(text).toContain('# Feed thresholds (0 disables a trigger)');
    expect(loadConfig({ configPath: f, env: {} }).config.automation.manual_override).toBe(true);
  });

  it('adds missing sections and keys', () => {
    const f = writeCfg(tmp(), '# mine\n');
    updateConfigFile(f, { 'chat.twitch.channel': 'streamer', 'scenes.managed_extra': ['PRIVACY'] });
    const cfg = loadConfig({ configPath: f, env: {} }).config;
    expect(cfg.chat.twitch?.channel).toBe('streamer');
    expect(cfg.scenes.managed_extra).toEqual(['PRIVACY']);
    expect(readFileSync(f, 'utf8')).toContain('# mine');
  });

  it('writes nothing when the change is invalid', () => {
    const f = writeCfg(tmp(), '[failover]\nlow_bitrate_kbps = 800\n');
    const before = readFileSync(f, 'utf8');
    expect(() => updateConfigFile(f, { 'failover.low_bitrate_kbps': -4 })).toThrow(ConfigError);
    expect(readFileSync(f, 'utf8')).toBe(before);
  });
});
