import { existsSync } from 'node:fs';
import { createLogger, telemyPaths } from '@telemy/protocol';
import type { Command } from 'commander';
import pino from 'pino';
import { loadCliConfig, openCliVault } from '../context.js';

/** `telemy engine`: the engine alone, switching scenes directly over obs-websocket. */
export function registerEngine(program: Command): void {
  program
    .command('engine')
    .description('run the engine alone (direct obs-websocket scene switching; for development)')
    .action(async (_opts: unknown, cmd: Command) => {
      await runEngineProcess(cmd);
    });
}

export async function runEngineProcess(cmd: Command): Promise<void> {
  const loaded = loadCliConfig(cmd);
  const { config } = loaded;
  const vault = await openCliVault();
  const destination = config.log.file
    ? pino.destination({ dest: config.log.file, mkdir: true })
    : pino.destination(2);
  const logger = createLogger('engine', { level: config.log.level, destination });
  const dockDir = await findDockDir();
  // Loaded here, not at the top: every other command stays quick to start.
  const { Engine } = await import('@telemy/engine');
  const engine = new Engine({ config, configPath: loaded.path, vault, logger, dockDir });
  let urls: Awaited<ReturnType<typeof engine.start>>;
  try {
    urls = await engine.start();
  } catch (err) {
    await engine.stop().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${config.server.port} on ${config.server.host} is already in use (another Telemy running?); set [server] port or TELEMY_SERVER_PORT`,
      );
    }
    throw err;
  }
  const out = process.stdout;
  out.write(`Telemy engine running\n`);
  out.write(`  dashboard: ${urls.dashboardWithToken}\n`);
  out.write(`  metrics:   ${urls.metrics} (Authorization: Bearer <local access token>)\n`);
  out.write(`  OBS:       ${engine.obs.url}\n`);
  out.write(`  config:    ${loaded.path ?? 'defaults (no config file; `telemy config init` writes one)'}\n`);
  out.write(`  data:      ${telemyPaths().data}\n`);
  if (vault.keyStore.kind === 'key_file')
    out.write(`  note:      no OS secret store; the vault key is in ${vault.keyStore.location}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void engine.stop().finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function findDockDir(): Promise<string | null> {
  try {
    const { dockDistDir } = (await import('@telemy/dock')) as { dockDistDir?: string };
    return dockDistDir && existsSync(dockDistDir) ? dockDistDir : null;
  } catch {
    return null;
  }
}
