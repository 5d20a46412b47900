import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Runs the real `telemy` CLI as a child process, the way a user does, for end-to-end tests. */

export const TELEMY_BIN = path.resolve(import.meta.dirname, '../../packages/cli/bin/telemy.js');

export function newTelemyHome(): string {
  return mkdtempSync(path.join(tmpdir(), 'telemy-home-'));
}

/** Runs a short command to completion (e.g. `vault set`, `config validate`). */
export function telemySync(
  args: string[],
  opts: { home: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TELEMY_BIN, ...args], {
    env: { ...process.env, ...opts.env, TELEMY_HOME: opts.home },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `[automation]` for tests of failover itself, which run without a stream going out: automation
 * then acts although OBS is not streaming. Going live is test/e2e/streamer-day.test.ts.
 */
export const AUTOMATION_WITHOUT_STREAM = '[automation]\nonly_while_streaming = false';

/** IRL tests: relay health every second and a 20 ms ingest latency, so an IRL session moves quickly. */
export const QUICK_RELAY_ENV = {
  TELEMY_RELAY_HEALTH_INTERVAL_MS: '1000',
  TELEMY_RELAY_INGEST_LATENCY_MS: '20',
  TELEMY_CP_WATCHDOG_INTERVAL_MS: '1000',
};

export function writeConfig(home: string, toml: string): string {
  const file = path.join(home, 'config.toml');
  writeFileSync(file, `config_version = 3\n${toml}`);
  return file;
}

export interface TelemyProcess {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function startTelemy(
  args: string[],
  opts: {
    home: string;
    env?: NodeJS.ProcessEnv;
    /** In a session of its own, as when a user starts it from its own terminal (its own autogroup
     * on Linux: the CPU the caller's other children use is not charged to it). */
    ownSession?: boolean;
    /** An installed `telemy` executable instead of the repository's bin, with exactly `env`
     * (nothing inherited from the test runner) and this working folder. */
    installed?: { bin: string; cwd: string };
  },
): TelemyProcess {
  const [command, argv, env] = opts.installed
    ? [opts.installed.bin, args, { ...opts.env, TELEMY_HOME: opts.home }]
    : [process.execPath, [TELEMY_BIN, ...args], { ...process.env, ...opts.env, TELEMY_HOME: opts.home }];
  const proc = spawn(command, argv, {
    env,
    cwd: opts.installed?.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownSession === true,
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    async waitFor(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (proc.exitCode !== null)
          throw new Error(
            `telemy exited (${proc.exitCode}) before printing ${re}\n${out}\n${err.slice(-3000)}`,
          );
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${re}\nstdout:\n${out}\nstderr:\n${err.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Polls `fn` until it returns a truthy value; returns it and how long it took. */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs: number,
  stepMs = 25,
): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return { value: v as T, elapsedMs: Date.now() - start };
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - start > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
