import { type ChildProcess, spawn } from 'node:child_process';

/** The real peers a source test runs (servers, ffmpeg): started here, all killed by `killAll()`. */
export class Children {
  private readonly all: ChildProcess[] = [];

  run(cmd: string, args: string[], cwd?: string): ChildProcess {
    const child = spawn(cmd, args, { stdio: 'ignore', ...(cwd ? { cwd } : {}) });
    this.all.push(child);
    return child;
  }

  async killAll(): Promise<void> {
    for (const c of this.all) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(this.all.map(exited));
  }
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Polls `probe` every 50 ms until it returns something, or fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined | false): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
