import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from '@telemy/protocol';

export interface EngineSupervisorOptions {
  /** argv of the engine: `[executable, ...args]`. */
  command: string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The engine must complete the IPC handshake within this after each spawn, else it counts as failed. */
  startupWindowMs: number;
  /** Copy the engine's stdout/stderr to ours (off in tests). */
  forwardOutput: boolean;
  /** Grace between SIGTERM and SIGKILL when stopping. */
  stopTimeoutMs?: number;
}

type EngineSupervisorEvents = {
  spawn: [{ pid: number | undefined; attempt: number }];
  /** The engine exited or was given up on; `willRestart` says whether a restart follows. */
  crash: [{ reason: string; willRestart: boolean }];
  /** The engine exited cleanly on its own (code 0): nothing to restart. */
  exit: [];
  /** Second failure: no more restarts. */
  failed: [{ lastError: string }];
};

/**
 * Runs the engine as a child process with a one-restart policy: the first
 * crash (or a startup that never completes the handshake) gets one restart; the next failure is final.
 */
export class EngineSupervisor extends EventEmitter<EngineSupervisorEvents> {
  private child: ChildProcess | null = null;
  private attempts = 0;
  private stopping = false;
  private healthy = false;
  private startupTimer: NodeJS.Timeout | null = null;
  private lastErrorLine: string | null = null;
  private startupFailure: string | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: EngineSupervisorOptions) {
    super();
    this.log = opts.logger.child({ component: 'supervisor' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get restarts(): number {
    return Math.max(0, this.attempts - 1);
  }

  start(): void {
    this.spawnEngine();
  }

  /** The engine answered hello: its startup succeeded. */
  markHealthy(): void {
    this.healthy = true;
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.startupTimer = null;
  }

  /** Stops the engine (SIGTERM, then SIGKILL) and never restarts it. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.startupTimer) clearTimeout(this.startupTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 5000);
    await exited;
    clearTimeout(killTimer);
  }

  private spawnEngine(): void {
    const [exe, ...args] = this.opts.command;
    if (!exe) throw new Error('engine command is empty');
    this.attempts += 1;
    this.healthy = false;
    this.lastErrorLine = null;
    this.startupFailure = null;
    const child = spawn(exe, args, {
      env: this.opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.on('error', (err) => {
      this.lastErrorLine = `could not start the engine: ${err.message}`;
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const clean = errorText(stripAnsi(line).trim());
      if (clean) this.lastErrorLine = clean.slice(0, 300);
      if (this.opts.forwardOutput) process.stderr.write(`${line}\n`);
    });
    if (this.opts.forwardOutput) child.stdout?.pipe(process.stdout, { end: false });
    else child.stdout?.resume();
    child.on('close', (code, signal) => this.onExit(child, code, signal));
    this.log.info({ pid: child.pid, attempt: this.attempts }, 'engine started');
    this.emit('spawn', { pid: child.pid, attempt: this.attempts });
    this.startupTimer = setTimeout(() => {
      this.startupTimer = null;
      if (this.healthy || this.child !== child) return;
      this.startupFailure = `the engine did not answer the IPC handshake within ${Math.round(this.opts.startupWindowMs / 1000)} s`;
      this.log.warn(this.startupFailure);
      child.kill('SIGKILL');
    }, this.opts.startupWindowMs);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.startupTimer = null;
    if (this.stopping) return;
    if (code === 0 && !this.startupFailure) {
      this.log.info('engine exited cleanly');
      this.emit('exit');
      return;
    }
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const reason =
      this.startupFailure ?? (this.lastErrorLine ? `${this.lastErrorLine} (${how})` : `engine ${how}`);
    const willRestart = this.attempts < 2;
    this.log.error({ reason, attempt: this.attempts, willRestart }, 'engine stopped unexpectedly');
    this.emit('crash', { reason, willRestart });
    if (willRestart) this.spawnEngine();
    else this.emit('failed', { lastError: reason });
  }
}

/**
 * The engine logs JSON lines (pino) to stderr: only an error or fatal record is a failure reason (its
 * message); info and warn records are not. Anything else (a Node crash, a stack trace) is kept as is.
 */
function errorText(line: string): string | null {
  if (!line.startsWith('{')) return line || null;
  try {
    const rec = JSON.parse(line) as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    if (typeof rec.level !== 'number') return line;
    if (rec.level < 50) return null;
    const detail = typeof rec.err?.message === 'string' ? `: ${rec.err.message}` : '';
    return `${String(rec.msg ?? 'error')}${detail}`;
  } catch {
    return line;
  }
}

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}
