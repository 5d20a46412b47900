import { spawnSync } from 'node:child_process';

/**
 * Media children must die with the agent: an `srt-live-transmit` left behind by a SIGKILLed or
 * crashed agent keeps its UDP port, so the next agent cannot listen there and a phone would publish
 * into a process nobody reads. `close()` stops them, but a hard kill runs no code, so this leans on
 * Linux's parent-death signal: util-linux `setpriv --pdeathsig KILL` sets it and then execs the real
 * program in the same process (same pid, same pipes). It is tied to the thread that spawned the
 * child, which is Node's main thread for `child_process.spawn`.
 *
 * Without `setpriv` (not Linux, or util-linux missing) children start plainly and only a graceful stop
 * ends them; on the AWS relay host systemd's control-group kill still ends them when the agent's
 * service stops, and the local provider signals the agent's whole process group.
 */
export interface ParentDeathLauncher {
  /** The `setpriv` that arms the signal, or null when children start without it. */
  readonly setpriv: string | null;
  /** The command line that runs `command args` so that it dies with this process. */
  wrap(command: string, args: string[]): { command: string; args: string[] };
}

/** Probes `setpriv` once: it must accept `--pdeathsig` and run a program with it. */
export function parentDeathLauncher(setprivPath = 'setpriv'): ParentDeathLauncher {
  const probe = spawnSync(setprivPath, ['--pdeathsig', 'KILL', '--', 'true'], {
    stdio: 'ignore',
    timeout: 5_000,
  });
  const setpriv = probe.status === 0 ? setprivPath : null;
  return {
    setpriv,
    wrap: (command, args) =>
      setpriv
        ? { command: setpriv, args: ['--pdeathsig', 'KILL', '--', command, ...args] }
        : { command, args },
  };
}
