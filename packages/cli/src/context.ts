import path from 'node:path';
import { type LoadedConfig, loadConfig } from '@telemy/engine/config';
import { Vault } from '@telemy/engine/vault';
import { telemyPaths } from '@telemy/protocol';
import type { Command } from 'commander';

/** Options every command accepts (defined once on the root program). */
export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** The config the command runs with; its warnings (a misspelled variable) go to stderr first. */
export function loadCliConfig(cmd: Command, file?: string, warn = true): LoadedConfig {
  const configPath = file ?? globals(cmd).config;
  const loaded = loadConfig(configPath ? { configPath } : {});
  if (warn) for (const w of loaded.warnings) process.stderr.write(`telemy: warning: ${w}\n`);
  return loaded;
}

/** `<data>/telemy.lock`: held by the running `telemy start` (or `telemy engine` alone). */
export function startLockFile(): string {
  return path.join(telemyPaths().data, 'telemy.lock');
}

/** What the running engine writes into the start lock: where its dashboard serves. */
export function startLockNote(dashboardUrl: string): string {
  return `dashboard ${dashboardUrl}`;
}

/**
 * The running engine's address from its lock note, or null. Other commands use it rather than the
 * config's port: `telemy start --port N` serves where the config file does not say.
 */
export function engineOriginFromNote(note: string | null | undefined): string | null {
  const url = /^dashboard (\S+)/.exec(note ?? '')?.[1];
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

export function openCliVault(): Promise<Vault> {
  return Vault.open(telemyPaths().data);
}

/** An error that carries its own exit code (2 = usage/config, 1 = runtime). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
