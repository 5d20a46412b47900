import path from 'node:path';
import envPaths from 'env-paths';

/** Where Telemy keeps its data and looks for its config. `TELEMY_HOME` moves everything (tests, checks). */
export interface TelemyPaths {
  /** Vault, PGlite database, audit log, engine state. */
  data: string;
  /** Per-user config folder (the last place config discovery looks). */
  config: string;
  /** Folder for IPC sockets: `$XDG_RUNTIME_DIR/telemy` when set, else `<data>/run`. */
  runtime: string;
}

export function telemyPaths(env: NodeJS.ProcessEnv = process.env): TelemyPaths {
  const home = env.TELEMY_HOME;
  if (home) {
    const data = path.resolve(home);
    return { data, config: data, runtime: path.join(data, 'run') };
  }
  const p = envPaths('telemy', { suffix: '' });
  const runtime = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'telemy') : path.join(p.data, 'run');
  return { data: p.data, config: p.config, runtime };
}
