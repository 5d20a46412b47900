import { existsSync } from 'node:fs';
import path from 'node:path';
import { createLogger, packageRoot, telemyPaths } from '@telemy/protocol';
import type { Command } from 'commander';
import pino from 'pino';
import { type GlobalOptions, globals, loadCliConfig, openCliVault } from '../context.js';

/** `telemy engine` (the engine alone) and `telemy start` (the shim supervising the engine). */
export function registerEngine(program: Command): void {
  program
    .command('start')
    .description(
      'run Telemy: the shim supervises the engine and switches scenes in OBS (dashboard at 127.0.0.1:7070)',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await runStart(cmd);
    });
  program
    .command('engine')
    .description('run the engine alone (direct obs-websocket scene switching; for development)')
    .action(async (_opts: unknown, cmd: Command) => {
      await runEngineProcess(cmd);
    });
}

function makeLogger(name: string, level: string, file: string | undefined) {
  const destination = file ? pino.destination({ dest: file, mkdir: true }) : pino.destination(2);
  return createLogger(name, { level, destination });
}

/**
 * V8 flags for the engine the shim starts. The engine allocates little and runs for hours: a 1 MB
 * young generation (V8 grows it to 16 MB per semi-space for throughput) keeps it ~15 MB smaller for a
 * few more, cheap, scavenges (docs/bench/engine-resources-full.md).
 */
const ENGINE_NODE_FLAGS = ['--max-semi-space-size=1'];

/** A SIGTERM ends the engine within this long, whatever hangs (the shim and service managers wait). */
const SHUTDOWN_DEADLINE_MS = 3_000;

async function runStart(cmd: Command): Promise<void> {
  const loaded = loadCliConfig(cmd);
  const { config } = loaded;
  const vault = await openCliVault();
  const logger = makeLogger('shim', config.log.level, config.log.file);
  const { runShim } = await import('@telemy/shim');
  const g: GlobalOptions = globals(cmd);
  const bin = path.join(packageRoot('@telemy/cli'), 'bin', 'telemy.js');
  const shim = await runShim({
    engineCommand: [
      process.execPath,
      ...ENGINE_NODE_FLAGS,
      bin,
      ...(g.config ? ['--config', g.config] : []),
      'engine',
    ],
    ipcDir: config.ipc.dir ?? telemyPaths().runtime,
    obs: { host: config.obs.host, port: config.obs.port, password: vault.get(config.obs.password_key) },
    dashboardPort: config.server.port,
    dashboardHost: config.server.host,
    startupWindowMs: startupWindowMs(process.env.TELEMY_ENGINE_STARTUP_WINDOW_MS),
    logger,
  });
  const stop = () => void shim.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const exit = await shim.done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (exit.reason === 'engine_exited') process.exitCode = 1;
}

/**
 * How long the shim waits for the engine's IPC handshake (default 20 s). Slow or heavily loaded
 * machines (CI running many peers at once) set `TELEMY_ENGINE_STARTUP_WINDOW_MS` higher.
 */
function startupWindowMs(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1000 || n > 600_000)
    throw new Error(`TELEMY_ENGINE_STARTUP_WINDOW_MS must be 1000-600000 (ms), got "${raw}"`);
  return n;
}

export async function runEngineProcess(cmd: Command): Promise<void> {
  const loaded = loadCliConfig(cmd);
  const { config } = loaded;
  const vault = await openCliVault();
  const logger = makeLogger('engine', config.log.level, config.log.file);
  const ipcDir = process.env.TELEMY_IPC_DIR || null;
  const embedded =
    config.cloud.mode === 'embedded'
      ? await (await import('../embedded-cloud.js')).prepareEmbeddedCloud({
          vault,
          apiKeyName: config.cloud.api_key_key,
          logLevel: config.log.level,
          logger,
        })
      : null;
  // Loaded here, not at the top: every other command stays quick to start.
  const { Engine } = await import('@telemy/engine/app');
  let stopping: Promise<void> | null = null;
  const engine = new Engine({
    config,
    configPath: loaded.path,
    vault,
    logger,
    dockDir: await findDockDir(),
    ipcDir,
    cloudBaseUrl: embedded?.url ?? null,
    ...(embedded ? { startCloud: () => embedded.start() } : {}),
    onObsShutdown: () => void shutdown(),
  });
  const shutdown = (): Promise<void> => {
    if (!stopping) {
      // Every part stops within its own grace (the control-plane child's is the longest); should one
      // ever hang, the engine still exits, saying so, rather than leave a supervisor waiting.
      setTimeout(() => {
        logger.error({ after_ms: SHUTDOWN_DEADLINE_MS }, 'engine shutdown did not finish; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      stopping = Promise.all([engine.stop(), embedded?.stop()])
        .then(() => undefined)
        .finally(() => process.exit(0));
    }
    return stopping;
  };
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
  out.write('Telemy engine running\n');
  out.write(`  dashboard: ${urls.dashboardWithToken}\n`);
  out.write(`  metrics:   ${urls.metrics} (Authorization: Bearer <local access token>)\n`);
  out.write(`  OBS:       ${engine.obs.url}\n`);
  out.write(
    `  scenes:    ${ipcDir ? `switched by the shim over IPC (${ipcDir})` : 'switched directly over obs-websocket'}\n`,
  );
  out.write(
    `  cloud:     ${config.cloud.mode === 'off' ? 'off' : embedded ? `${embedded.url}, a child process started on the first IRL start` : (config.cloud.base_url ?? 'not configured')} (${config.cloud.mode})\n`,
  );
  out.write(`  config:    ${loaded.path ?? 'defaults (no config file; `telemy config init` writes one)'}\n`);
  out.write(`  data:      ${telemyPaths().data}\n`);
  if (vault.keyStore.kind === 'key_file')
    out.write(`  note:      no OS secret store; the vault key is in ${vault.keyStore.location}\n`);
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  await new Promise<never>(() => {});
}

async function findDockDir(): Promise<string | null> {
  try {
    const { dockDistDir } = (await import('@telemy/dock')) as { dockDistDir?: string };
    return dockDistDir && existsSync(dockDistDir) ? dockDistDir : null;
  } catch {
    return null;
  }
}
