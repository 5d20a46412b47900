import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import {
  defaultConfigText,
  isV2Config,
  migrateV2,
  parseToml,
  resolveConfigPath,
  userConfigFile,
  validateConfig,
  writeFileAtomic,
} from '@telemy/engine/config';
import type { Command } from 'commander';
import { stringify } from 'smol-toml';
import { CliError, globals, loadCliConfig } from '../context.js';

/** `telemy config init|validate|show|migrate` (docs/reference/config.md, docs/UPGRADING.md). */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('create, check, show or upgrade the config file');

  config
    .command('init')
    .description(
      'write a commented default config file (to --config, TELEMY_CONFIG or the user config folder)',
    )
    .option('--force', 'overwrite an existing file (a .bak copy is kept)')
    .action((opts: { force?: boolean }, cmd: Command) => {
      const target = globals(cmd).config ?? process.env.TELEMY_CONFIG ?? userConfigFile();
      if (existsSync(target)) {
        if (!opts.force)
          throw new CliError(`${target} already exists; use --force to replace it (a .bak copy is kept)`);
        copyFileSync(target, `${target}.bak`);
      }
      writeFileAtomic(target, defaultConfigText());
      process.stdout.write(`wrote ${target}\n`);
    });

  config
    .command('validate')
    .description('check the config file; prints one line per problem')
    .argument('[file]', 'file to check (default: the discovered config)')
    .action((file: string | undefined, _opts: unknown, cmd: Command) => {
      const loaded = loadCliConfig(cmd, file);
      process.stdout.write(`${loaded.path ?? '(no config file: defaults)'}: valid\n`);
      if (loaded.envOverrides.length > 0)
        process.stdout.write(`overridden by environment: ${loaded.envOverrides.join(', ')}\n`);
    });

  config
    .command('show')
    .description('print the effective config (file + environment overrides), secrets masked')
    .action((_opts: unknown, cmd: Command) => {
      const loaded = loadCliConfig(cmd);
      process.stdout.write(
        `# from ${loaded.path ?? 'defaults'}${loaded.envOverrides.length ? `; environment: ${loaded.envOverrides.join(', ')}` : ''}\n`,
      );
      const { config_version, ...rest } = maskSecrets(loaded.config) as Record<string, unknown>;
      process.stdout.write(`config_version = ${String(config_version)}\n${stringify(rest)}\n`);
    });

  config
    .command('migrate')
    .description(
      'upgrade a v0.0.2 config to v3 (keeps a .v2.bak backup and reports keys it could not carry over)',
    )
    .action((_opts: unknown, cmd: Command) => {
      const { path: file } = resolveConfigPath({ configPath: globals(cmd).config });
      if (!file) throw new CliError('no config file found to migrate (pass --config PATH)', 2);
      const text = readFileSync(file, 'utf8');
      const raw = parseToml(text, file);
      if (raw.config_version === 3) {
        process.stdout.write(`${file} is already config_version 3; nothing to do\n`);
        return;
      }
      if (!isV2Config(raw))
        throw new CliError(`${file} is neither a v0.0.2 nor a v3 config; nothing was changed`, 2);
      const { config, dropped } = migrateV2(raw);
      validateConfig(config, file);
      const backup = `${file}.v2.bak`;
      copyFileSync(file, backup);
      const { config_version, ...rest } = config;
      writeFileAtomic(file, `config_version = ${String(config_version)}\n${stringify(rest)}\n`);
      process.stdout.write(`migrated ${file} to config_version 3 (backup: ${backup})\n`);
      if (dropped.length === 0) process.stdout.write('every key was carried over\n');
      for (const d of dropped) process.stdout.write(`not carried over: ${d.key}: ${d.reason}\n`);
    });
}

const SECRETISH = /password|secret|token(?!_key)|passphrase|api_key(?!_key)/i;

function maskSecrets(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => maskSecrets(x));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskSecrets(x, k)]));
  }
  if (typeof v === 'string' && SECRETISH.test(key) && !key.endsWith('_key')) return '********';
  return v;
}
