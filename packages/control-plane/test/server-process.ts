import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(import.meta.dirname, '../../cli/bin/telemy.js');

export interface ControlPlaneProcess {
  url: string;
  proc: ChildProcess;
}

/**
 * `telemy control-plane` as a real process (its own database settings come from `env`); resolves
 * with the URL it prints once it listens. Port 0 picks a free one.
 */
export function spawnControlPlane(
  env: NodeJS.ProcessEnv,
  opts: { role: string; port?: number },
): Promise<ControlPlaneProcess> {
  const proc = spawn(
    process.execPath,
    [CLI, 'control-plane', '--role', opts.role, '--port', String(opts.port ?? 0), '--host', '127.0.0.1'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ url: m[1], proc });
      }
    });
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}
