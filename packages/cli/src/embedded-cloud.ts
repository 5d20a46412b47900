import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Vault } from '@telemy/engine/vault';
import {
  backoffMs,
  type EmbeddedInit,
  EmbeddedReport,
  LOCAL_RELAY_ENV,
  type Logger,
  newApiKey,
  packageRoot,
  telemyPaths,
} from '@telemy/protocol';
import { type ParentDeathLauncher, parentDeathLauncher } from '@telemy/relay/parent-death';

const JWT_SECRET_KEY = 'embedded_jwt_secret';
/** PGlite opens and migrates in a few seconds; a loaded 2-core machine has taken over 20. */
/** How long the first start may take (a WASM compile and PGlite's initdb on a busy machine). */
export const READY_TIMEOUT_MS = 90_000;
/** SIGTERM first (the child closes PGlite cleanly), SIGKILL after this: the engine exits within 3 s. */
const STOP_GRACE_MS = 2_000;

/** Where the embedded control plane records its address: `<data>/cloud/embedded-control-plane.json`. */
export function embeddedStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(telemyPaths(env).data, 'cloud', 'embedded-control-plane.json');
}

/** The embedded control plane's log (pino JSON lines, appended): `<data>/cloud/control-plane.log`. */
export function embeddedLogFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(telemyPaths(env).data, 'cloud', 'control-plane.log');
}

/** The address the embedded control plane last listened on, and the pid that served it, if recorded. */
export function readEmbeddedAddress(
  env: NodeJS.ProcessEnv = process.env,
): { url: string; port: number; pid: number | null } | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(embeddedStateFile(env), 'utf8')) as {
      url?: unknown;
      port?: unknown;
      pid?: unknown;
    };
    return typeof parsed.url === 'string' && typeof parsed.port === 'number'
      ? { url: parsed.url, port: parsed.port, pid: typeof parsed.pid === 'number' ? parsed.pid : null }
      : null;
  } catch {
    return null;
  }
}

function writeEmbeddedAddress(url: string, port: number, pid: number): void {
  const file = embeddedStateFile();
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ url, port, pid }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** A line of the child's stdout as its report; null for anything else. */
export function parseChildReport(line: string): EmbeddedReport | null {
  try {
    const r = EmbeddedReport.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export interface RestartPolicy {
  /** Crashes in a row, each after a short run, before the engine gives up. */
  maxQuickCrashes: number;
  /** A child that ran this long before it died was healthy: its crash starts a new count. */
  stableAfterMs: number;
  /** Delay before the first restart; it doubles with each quick crash, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const RESTART_POLICY: RestartPolicy = {
  maxQuickCrashes: 3,
  stableAfterMs: 60_000,
  firstDelayMs: 500,
  maxDelayMs: 4_000,
};

/**
 * What follows a crash of the child after it ran `ranMs`, given the quick crashes before it: a
 * restart after `restartInMs`, or null when it keeps crashing (the engine gives up).
 */
export function afterCrash(
  quickCrashes: number,
  ranMs: number,
  policy: RestartPolicy = RESTART_POLICY,
): { quickCrashes: number; restartInMs: number | null } {
  const count = ranMs >= policy.stableAfterMs ? 1 : quickCrashes + 1;
  if (count > policy.maxQuickCrashes) return { quickCrashes: count, restartInMs: null };
  return {
    quickCrashes: count,
    restartInMs: backoffMs({ baseMs: policy.firstDelayMs, maxMs: policy.maxDelayMs }, count - 1),
  };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}

export interface EmbeddedCloud {
  /** Fixed before the child first starts, so the engine's CloudLink can be built with it. */
  readonly url: string;
  /**
   * Starts the child and resolves once it serves. Rejects with one line saying why when it cannot;
   * a later call tries again.
   */
  start(): Promise<void>;
  /** Stops the child (SIGTERM, SIGKILL after 2 s) and any restart to come. */
  stop(): Promise<void>;
}

export interface EmbeddedCloudOptions {
  vault: Vault;
  /** The vault entry of the engine's API key (`cloud.api_key_key`). */
  apiKeyName: string;
  logLevel: EmbeddedInit['log_level'];
  logger: Logger;
  /** `[relay] bind_host` and `public_host` for the child's local relays. */
  relay?: { bind_host?: string | undefined; public_host?: string | undefined };
}

/**
 * The `[relay]` settings as the child's environment entries; an unset key is left out, so the child
 * keeps what the engine's environment says (tests pin relays to loopback that way).
 */
export function embeddedRelayEnv(relay: EmbeddedCloudOptions['relay'] = {}): Record<string, string> {
  const env: Record<string, string> = {};
  if (relay.bind_host !== undefined) env[LOCAL_RELAY_ENV.bindHost] = relay.bind_host;
  if (relay.public_host !== undefined) env[LOCAL_RELAY_ENV.publicHost] = relay.public_host;
  return env;
}

/**
 * `cloud.mode = "embedded"`: the control plane runs on PGlite in the data folder with the `local`
 * relay provider, so one machine can do the whole IRL flow with no account anywhere. It runs as a
 * child process of the engine (`telemy control-plane --embedded`), never in the engine's event loop:
 * opening PGlite holds a process for seconds and ~700 MB, which an engine that must notice a dead
 * feed within a second cannot afford.
 *
 * It listens on the same port as last time when it can: local relays outlive an engine restart and
 * keep sending their health reports to the address they were given at provisioning.
 */
export async function prepareEmbeddedCloud(opts: EmbeddedCloudOptions): Promise<EmbeddedCloud> {
  const previous = readEmbeddedAddress()?.port ?? null;
  const port = (previous !== null && (await portFree(previous)) ? previous : null) ?? (await freePort());
  if (previous !== null && port !== previous) {
    opts.logger.warn(
      { previous, port },
      'embedded control plane: its previous port is taken; relays started before keep reporting to the old one',
    );
  }
  // Probed now, while the engine is not yet serving: the probe runs a process synchronously.
  return new EmbeddedControlPlane(opts, port, parentDeathLauncher());
}

/**
 * The child's supervisor. The first start is on demand (`EngineApp.ensureCloud`); a child that dies
 * later is restarted with a capped backoff on the same port, and after a few quick crashes in a row
 * the engine gives up with one error line (IRL unavailable, local operation continues). Relays the
 * child started live on across its restarts: they run in their own process groups.
 *
 * The child dies with the engine even when the engine is SIGKILLed: `setpriv --pdeathsig KILL`
 * where util-linux has it, and the child also stops when its stdin (a pipe from the engine) ends.
 */
class EmbeddedControlPlane implements EmbeddedCloud {
  readonly url: string;
  private child: ChildProcess | null = null;
  private starting: Promise<void> | null = null;
  private stopped = false;
  private quickCrashes = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(
    private readonly opts: EmbeddedCloudOptions,
    private readonly port: number,
    private readonly launcher: ParentDeathLauncher,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.log = opts.logger.child({ component: 'control-plane' });
  }

  start(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the engine is stopping'));
    if (this.child && !this.starting) return Promise.resolve();
    this.starting ??= this.spawnChild().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(force);
  }

  /** One child: resolves when it reports ready; rejects when it exits (or is given up on) before. */
  private async spawnChild(): Promise<void> {
    const { vault, apiKeyName, logLevel } = this.opts;
    const logFile = embeddedLogFile();
    let init: EmbeddedInit;
    let logFd: number;
    try {
      // The vault is written only here, in the engine: the child gets what it needs on stdin.
      init = {
        jwt_secret: vault.getOrCreate(JWT_SECRET_KEY).value,
        api_key: vault.getOrCreate(apiKeyName, newApiKey).value,
        log_level: logLevel,
      };
      fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
      logFd = fs.openSync(logFile, 'a', 0o600);
    } catch (err) {
      throw new Error(`embedded control plane did not start: ${(err as Error).message}`, { cause: err });
    }
    const cli = path.join(packageRoot('@telemy/cli'), 'bin', 'telemy.js');
    const { command, args } = this.launcher.wrap(process.execPath, [
      // No background compile or GC threads: starting (WASM compile, PGlite's first initdb) takes
      // one core at most, and leaves the other to OBS and the engine on a 2-core machine.
      '--single-threaded',
      cli,
      'control-plane',
      '--embedded',
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
    ]);
    const spawnedAt = Date.now();
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', logFd],
      env: { ...process.env, ...embeddedRelayEnv(this.opts.relay) },
    });
    fs.closeSync(logFd);
    this.child = child;
    // A child that died before reading its stdin is reported by its exit, not by this pipe.
    child.stdin?.on('error', () => undefined);
    child.stdin?.write(`${JSON.stringify(init)}\n`);

    return new Promise<void>((resolve, reject) => {
      let ready = false;
      let failure: string | null = null;
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`embedded control plane did not start: ${why} (log: ${logFile})`));
      };
      const timer = setTimeout(() => {
        failure = `not ready within ${READY_TIMEOUT_MS / 1000} s`;
        child.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const report = parseChildReport(line);
        if (!report) return;
        if ('failed' in report) {
          failure = report.failed;
          return;
        }
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        writeEmbeddedAddress(this.url, this.port, child.pid as number);
        this.log.info({ url: this.url, pid: child.pid, log: logFile }, 'embedded control plane ready');
        resolve();
      });
      child.once('error', (err) => {
        failure = `could not run ${command}: ${err.message}`;
        // Never spawned: no exit follows.
        if (child.pid === undefined) {
          if (this.child === child) this.child = null;
          fail(failure);
        }
      });
      // 'close', not 'exit': the child's last stdout line (its `failed` report) has been read by then.
      child.once('close', (code, signal) => {
        if (this.child === child) this.child = null;
        if (!ready) fail(failure ?? describeExit(code, signal));
        else if (!this.stopped) this.crashed(Date.now() - spawnedAt, describeExit(code, signal));
      });
    });
  }

  private crashed(ranMs: number, how: string): void {
    const next = afterCrash(this.quickCrashes, ranMs);
    this.quickCrashes = next.quickCrashes;
    if (next.restartInMs === null) {
      this.log.error(
        { crashes: next.quickCrashes, last: how, log: embeddedLogFile() },
        'embedded control plane keeps stopping; IRL is unavailable until Telemy restarts, local operation continues',
      );
      return;
    }
    this.log.warn({ how, restart_in_ms: next.restartInMs }, 'embedded control plane stopped; restarting it');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      const at = Date.now();
      this.start().then(
        () => this.log.info('embedded control plane restarted'),
        (err: unknown) => {
          if (this.stopped) return;
          this.log.warn({ err }, 'embedded control plane restart failed');
          this.crashed(Date.now() - at, 'failed to start');
        },
      );
    }, next.restartInMs);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
