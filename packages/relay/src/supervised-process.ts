import { type ChildProcess, spawn } from 'node:child_process';
import { backoffMs, type Logger } from '@telemy/protocol';
import { LineSplitter } from './srt-stats.js';

export interface SupervisedProcessOptions {
  name: string;
  command: string;
  args: string[];
  /** The child's environment; absent = the agent's own. */
  env?: NodeJS.ProcessEnv;
  log: Logger;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Called every time a new child starts (after a restart too). */
  onStart?: () => void;
  /** First restart delay; doubles per quick crash up to `maxRestartDelayMs`. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

/** A child that ran this long before dying counts as healthy: the next restart is immediate-ish. */
const STABLE_AFTER_MS = 10_000;

/**
 * Keeps one child process running (`srt-live-transmit` for the media path): restarts it with a
 * capped backoff whenever it dies, until `stop()`. Arguments and environment may carry
 * passphrases, so they are never logged.
 */
export class SupervisedProcess {
  private child: ChildProcess | null = null;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private recycling = false;
  restarts = 0;

  constructor(private readonly opts: SupervisedProcessOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const startedAt = Date.now();
    const child = spawn(this.opts.command, this.opts.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.opts.env ? { env: this.opts.env } : {}),
    });
    this.child = child;
    const out = new LineSplitter();
    const err = new LineSplitter();
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of out.push(d)) this.opts.onStdoutLine?.(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of err.push(d)) this.opts.onStderrLine?.(line);
    });
    child.on('error', (e) => {
      this.opts.log.error({ process: this.opts.name, err: e.message }, 'media process could not start');
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.stopped) return;
      if (this.recycling) {
        // A deliberate restart is not a crash: no backoff.
        this.recycling = false;
        this.failures = 0;
        this.restarts += 1;
        this.start();
        return;
      }
      this.failures = Date.now() - startedAt > STABLE_AFTER_MS ? 1 : this.failures + 1;
      const delay = backoffMs(
        { baseMs: this.opts.restartDelayMs ?? 200, maxMs: this.opts.maxRestartDelayMs ?? 5_000 },
        this.failures - 1,
      );
      this.opts.log.warn(
        { process: this.opts.name, code, signal, restart_in_ms: delay },
        'media process exited; restarting',
      );
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.restarts += 1;
        this.start();
      }, delay);
    });
    this.opts.onStart?.();
  }

  /** Replaces the running child with a fresh one at once. */
  recycle(): void {
    if (!this.child || this.stopped) return;
    this.recycling = true;
    this.child.kill('SIGTERM');
  }

  /** Kills the current child (tests use it to prove the restart). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 2_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
    this.child = null;
  }
}
