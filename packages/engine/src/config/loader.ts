import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { telemyPaths } from '@telemy/protocol';
import { parse as parseTomlText, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { isV2Config } from './migrate-v2.js';
import { configSchema, deprecatedKeyWarnings, type TelemyConfig } from './schema.js';
import { closestName, describeAllowed, envOverrideTargets, parseEnvValue } from './schema-walk.js';

export type ConfigSource = 'flag' | 'env' | 'cwd' | 'user' | 'defaults';

export interface LoadedConfig {
  config: TelemyConfig;
  /** The file the config came from; null when no file exists and defaults are used. */
  path: string | null;
  source: ConfigSource;
  /** Environment variables that overrode a file value, e.g. `TELEMY_OBS_PORT`. */
  envOverrides: string[];
  /** Things that do not stop the program but are probably mistakes (a misspelled variable). */
  warnings: string[];
}

/** A config that cannot be used; `lines` has one line per problem (file, key, what, allowed, found). */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** `--config PATH`. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Discovery order: --config, TELEMY_CONFIG, ./telemy.toml, the per-user config folder. */
export function resolveConfigPath(opts: LoadConfigOptions = {}): {
  path: string | null;
  source: ConfigSource;
} {
  const env = opts.env ?? process.env;
  if (opts.configPath) return { path: path.resolve(opts.configPath), source: 'flag' };
  if (env.TELEMY_CONFIG) return { path: path.resolve(env.TELEMY_CONFIG), source: 'env' };
  const local = path.resolve(opts.cwd ?? process.cwd(), 'telemy.toml');
  if (existsSync(local)) return { path: local, source: 'cwd' };
  const user = userConfigFile(env);
  if (existsSync(user)) return { path: user, source: 'user' };
  return { path: null, source: 'defaults' };
}

export function userConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(telemyPaths(env).config, 'config.toml');
}

export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const { path: file, source } = resolveConfigPath(opts);
  let raw: Record<string, unknown> = { config_version: 3 };
  if (file)
    raw = parseConfigText(readConfigFile(file, source === 'flag' ? '--config' : 'TELEMY_CONFIG'), file);
  const label = file ?? '(defaults)';
  const { data, overrides, errors } = applyEnvOverrides(raw, env);
  if (errors.length > 0) throw new ConfigError(errors);
  const config = validateConfig(data, label, overrides);
  return {
    config,
    path: file,
    source,
    envOverrides: overrides.map((o) => o.envName),
    warnings: [...misspelledEnvNames(env), ...deprecatedKeyWarnings(config, label)],
  };
}

/** The file's text, or one line saying why it cannot be read (missing, a folder, no permission). */
function readConfigFile(file: string, namedBy: string): string {
  if (!existsSync(file)) throw new ConfigError([`${file}: file not found (named by ${namedBy})`]);
  if (statSync(file).isDirectory())
    throw new ConfigError([
      `${file}: is a folder, not a config file (named by ${namedBy}); name the file itself, e.g. ${path.join(file, 'config.toml')}`,
    ]);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
}

/**
 * Parses TOML; a syntax error becomes one `file:line:column: …` line (editors jump to it) with the
 * parser's own description of what is wrong.
 */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parseTomlText(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const what = err.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? '';
      throw new ConfigError([`${file}:${err.line}:${err.column}: not valid TOML: ${what}`]);
    }
    throw new ConfigError([`${file}: not valid TOML: ${err instanceof Error ? err.message : String(err)}`]);
  }
}

/** Parses TOML text and rejects v0.0.2 files and files from a newer Telemy with a clear line. */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  const raw = parseToml(text, file);
  if (raw.config_version === undefined && isV2Config(raw)) {
    throw new ConfigError([
      `${file}: this is a Telemy v0.0.2 config; convert it with \`telemy config migrate --config ${file}\` (see docs/UPGRADING.md)`,
    ]);
  }
  if (typeof raw.config_version === 'number' && raw.config_version > 3) {
    throw new ConfigError([
      `${file}: config_version ${raw.config_version} was written by a newer Telemy; this version reads config_version 3`,
    ]);
  }
  return raw;
}

/**
 * Validates an already-parsed config object; every problem becomes one line, naming the file, or the
 * environment variable when the value came from one (the file is not where to fix it).
 */
export function validateConfig(
  raw: unknown,
  file: string,
  fromEnv: readonly EnvOverride[] = [],
): TelemyConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(formatIssues(result.error.issues, raw, file, fromEnv));
}

export function formatIssues(
  issues: z.core.$ZodIssue[],
  raw: unknown,
  file: string,
  fromEnv: readonly EnvOverride[] = [],
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const env = fromEnv.find((o) => keyPath(o.path) === keyPath(issue.path));
    if (env) {
      lines.push(
        `${env.envName}: ${keyPath(issue.path)}: ${issue.message}; allowed: ${describeAllowed(configSchema, issue.path)}; found: ${show(env.value)}`,
      );
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const p = [...issue.path, key];
        lines.push(
          `${file}: ${keyPath(p)}: unknown key; allowed: the keys listed in \`telemy config init\`; found: ${show(valueAt(raw, p))}`,
        );
      }
      continue;
    }
    const found = valueAt(raw, issue.path);
    const allowed = describeAllowed(configSchema, issue.path);
    const what = issue.code === 'invalid_type' && found === undefined ? 'is required' : issue.message;
    lines.push(`${file}: ${keyPath(issue.path)}: ${what}; allowed: ${allowed}; found: ${show(found)}`);
  }
  return lines;
}

interface EnvOverride {
  envName: string;
  path: readonly string[];
  /** As written in the environment. */
  value: string;
}

function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { data: Record<string, unknown>; overrides: EnvOverride[]; errors: string[] } {
  const data = structuredClone(raw);
  const overrides: EnvOverride[] = [];
  const errors: string[] = [];
  for (const target of envOverrideTargets(configSchema)) {
    const value = env[target.envName];
    if (value === undefined) continue;
    const parsed = parseEnvValue(value, target.kind);
    if (!parsed.ok) {
      errors.push(
        `${target.envName}: ${keyPath(target.path)}: ${parsed.reason}; allowed: ${describeAllowed(configSchema, target.path)}; found: ${show(value)}`,
      );
      continue;
    }
    setAt(data, target.path, parsed.value);
    overrides.push({ envName: target.envName, path: target.path, value });
  }
  return { data, overrides, errors };
}

/**
 * `TELEMY_*` variables that are no config key but nearly spell one: a typo would otherwise be
 * ignored without a word. Variables far from every key (other components' settings) are left alone.
 */
function misspelledEnvNames(env: NodeJS.ProcessEnv): string[] {
  const known = envOverrideTargets(configSchema).map((t) => t.envName);
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('TELEMY_') || known.includes(name)) continue;
    const closest = closestName(name, known);
    if (closest) warnings.push(`${name} is not a Telemy setting and is ignored; did you mean ${closest}?`);
  }
  return warnings;
}

function keyPath(p: readonly PropertyKey[]): string {
  return (
    p
      .map((k) => (typeof k === 'number' ? `[${k}]` : String(k)))
      .join('.')
      .replace(/\.\[/g, '[') || '(root)'
  );
}

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function setAt(obj: Record<string, unknown>, p: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of p.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[p[p.length - 1] as string] = value;
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
