import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { defaultConfig, type LoadedConfig, type TelemyConfig } from '@telemy/engine/config';
import { createLogger, packageRoot, telemyPaths } from '@telemy/protocol';
import { LockHeld, takePidLock } from '@telemy/protocol/pid-lock';
import { type Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import {
  CliError,
  type GlobalOptions,
  globals,
  loadCliConfig,
  openCliVault,
  startLockFile,
  startLockNote,
} from '../context.js';
import { defaultLogFormat, LOG_FORMATS, type LogFormat, prettyDestination } from '../log-format.js';

interface PortOptions {
  port?: number;
  obsPort?: number;
  logFormat?: LogFormat;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new InvalidArgumentError('a port is an integer 1-65535');
  return n;
}

/** `--port`, `--obs-port` and `--log-format`, on both commands; the ports' defaults are the config's own. */
function withPortOptions(cmd: Command): Command {
  const d = defaultConfig();
  return cmd
    .addOption(
      new Option(
        '--log-format <format>',
        'console log lines: pretty (time, level, component, message, fields) or json (default: pretty on a terminal, else json; [log] file is always json)',
      ).choices(LOG_FORMATS),
    )
    .option(
      '--port <n>',
      `dashboard port (default ${d.server.port}; beats [server] port and TELEMY_SERVER_PORT)`,
      parsePort,
    )
    .option(
      '--obs-port <n>',
      `OBS WebSocket port (default ${d.obs.port}; beats [obs] port and TELEMY_OBS_PORT)`,
      parsePort,
    );
}

/** `telemy engine` (the engine alone) and `telemy start` (the shim supervising the engine). */
export function registerEngine(program: Command): void {
  const d = defaultConfig();
  withPortOptions(
    program
      .command('start')
      .description(
        `run Telemy: the shim supervises the engine and switches scenes in OBS (dashboard at ${d.server.host}:${d.server.port})`,
      ),
  ).action(async (opts: PortOptions, cmd: Command) => {
    await runStart(cmd, opts);
  });
  withPortOptions(
    program
      .command('engine')
      .description('run the engine alone (direct obs-websocket scene switching; for development)'),
  ).action(async (opts: PortOptions, cmd: Command) => {
    await runEngineProcess(cmd, opts);
  });
}

/** The config with the command line's ports applied (flags beat the file and the environment). */
function loadWithPorts(cmd: Command, opts: PortOptions, warn = true): LoadedConfig {
  const loaded = loadCliConfig(cmd, undefined, warn);
  const config: TelemyConfig = {
    ...loaded.config,
    server: { ...loaded.config.server, port: opts.port ?? loaded.config.server.port },
    obs: { ...loaded.config.obs, port: opts.obsPort ?? loaded.config.obs.port },
  };
  return { ...loaded, config };
}

/** Where the dashboard of this config is reached from this machine. */
function dashboardUrl(config: TelemyConfig): string {
  const { host, port } = config.server;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/`;
}

/**
 * One Telemy per data folder: two would share the vault, the engine state and the embedded control
 * plane's store, and the second would only fail later on a taken port. The lock (pid and start time,
 * taken over when its process is gone) is released when this process exits.
 */
function lockDataFolder(config: TelemyConfig): void {
  const data = telemyPaths().data;
  mkdirSync(data, { recursive: true, mode: 0o700 });
  let release: () => void;
  try {
    release = takePidLock(startLockFile(), startLockNote(dashboardUrl(config)));
  } catch (err) {
    if (!(err instanceof LockHeld)) throw err;
    const { pid, note } = err.owner;
    throw new CliError(
      `Telemy is already running on the data folder ${data}: ${pid === null ? 'another process' : `process ${pid}`}${note ? `, ${note}` : ''}; stop it first (Ctrl-C in its terminal${pid === null ? '' : `, or kill ${pid}`}), or give this one another TELEMY_HOME`,
    );
  }
  process.once('exit', release);
}

/** The console format this process logs in: the flag, else by whether stderr is a terminal. */
function logFormat(opts: PortOptions, file: string | undefined): LogFormat {
  return file ? 'json' : (opts.logFormat ?? defaultLogFormat(process.stderr));
}

function makeLogger(name: string, level: string, file: string | undefined, format: LogFormat) {
  const destination = file
    ? pino.destination({ dest: file, mkdir: true })
    : format === 'pretty'
      ? prettyDestination(process.stderr)
      : pino.destination(2);
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

async function runStart(cmd: Command, opts: PortOptions): Promise<void> {
  const { config } = loadWithPorts(cmd, opts);
  lockDataFolder(config);
  const vault = await openCliVault();
  const format = logFormat(opts, config.log.file);
  const logger = makeLogger('shim', config.log.level, config.log.file, format);
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
      ...(opts.port === undefined ? [] : ['--port', String(opts.port)]),
      ...(opts.obsPort === undefined ? [] : ['--obs-port', String(opts.obsPort)]),
      // The engine's stderr is a pipe to ours, so it would log JSON: it is told when ours is pretty.
      ...(format === 'pretty' ? ['--log-format', 'pretty'] : []),
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

export async function runEngineProcess(cmd: Command, opts: PortOptions): Promise<void> {
  // Under the shim (which sets the IPC folder) the shim holds the lock and has said the warnings.
  const ipcDir = process.env.TELEMY_IPC_DIR || null;
  const loaded = loadWithPorts(cmd, opts, ipcDir === null);
  const { config } = loaded;
  if (ipcDir === null) lockDataFolder(config);
  const vault = await openCliVault();
  const logger = makeLogger('engine', config.log.level, config.log.file, logFormat(opts, config.log.file));
  const embedded =
    config.cloud.mode === 'embedded'
      ? await (await import('../embedded-cloud.js')).prepareEmbeddedCloud({
          vault,
          apiKeyName: config.cloud.api_key_key,
          logLevel: config.log.level,
          logger,
          relay: config.relay,
        })
      : null;
  // Loaded here, not at the top: every other command stays quick to start.
  const { EngineApp } = await import('@telemy/engine/app');
  let stopping: Promise<void> | null = null;
  const engine = new EngineApp({
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
        `port ${config.server.port} on ${config.server.host} is already in use by another program; pass --port, or set [server] port or TELEMY_SERVER_PORT`,
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
    `  scenes:    ${ipcDir ? 'switched by the shim over IPC' : 'switched directly over obs-websocket'}\n`,
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
