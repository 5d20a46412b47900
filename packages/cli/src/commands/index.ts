import type { Command } from 'commander';

/** Each command group adds itself here; the order is the order `telemy --help` lists them. */
export function registerCommands(program: Command): void {
  void program;
}
