import type { Command } from 'commander';
import { registerAdmin } from './admin.js';
import { registerChat } from './chat.js';
import { registerCloud } from './cloud.js';
import { registerConfig } from './config.js';
import { registerControlPlane } from './control-plane.js';
import { registerDoctor } from './doctor.js';
import { registerEngine } from './engine.js';
import { registerRelay } from './relay.js';
import { registerVault } from './vault.js';

/** Each command group adds itself here; the order is the order `telemy --help` lists them. */
export function registerCommands(program: Command): void {
  program.option(
    '--config <path>',
    'config file (else TELEMY_CONFIG, ./telemy.toml, the user config folder)',
  );
  registerEngine(program);
  registerConfig(program);
  registerVault(program);
  registerChat(program);
  registerDoctor(program);
  registerCloud(program);
  registerControlPlane(program);
  registerAdmin(program);
  registerRelay(program);
}
