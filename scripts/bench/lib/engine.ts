/**
 * `telemy engine` or `telemy start` as the benches run it: a fresh data folder with its config and
 * vault, the process, and the engine's HTTP API with the dashboard token it printed.
 */
import { join } from 'node:path';
import {
  eventually,
  newTelemyHome,
  startTelemy,
  type TelemyProcess,
  telemySync,
  writeConfig,
} from '../../../test/support/telemy-process.js';
import { children } from './procs.js';

/** A data folder for an engine: its config and vault. */
export interface HomeOptions {
  obsPort: number;
  port: number;
  /** Config sections after `[obs]` and `[server]` (cloud, scenes, failover, sources, chat…). */
  toml: string[];
  /** Vault entries (`obs_password`, chat tokens). */
  secrets?: Record<string, string>;
  /** Log at info level to `engine.log` in the data folder, where the benches read the engine's intents. */
  log?: boolean;
}

export interface LaunchOptions {
  /** `engine`: the engine alone; `start`: as a streamer runs it, the shim supervising the engine. */
  command: 'engine' | 'start';
  port: number;
  env?: NodeJS.ProcessEnv;
  /** In a session of its own, as from its own terminal. */
  ownSession?: boolean;
}

export interface EngineHome {
  readonly home: string;
  readonly configFile: string;
  /** `engine.log` in the data folder (written with `log`). */
  readonly log: string;
}

/** The engine's HTTP API with a dashboard token. */
export interface EngineApi {
  get<T>(route: string): Promise<T>;
  post<T>(route: string, body?: unknown): Promise<T>;
  /**
   * One scrape of `/metrics`, read by name. prom-client resets its event-loop histogram at every
   * scrape, so figures that belong together come from the same one.
   */
  metrics(): Promise<(name: string) => number | null>;
}

export interface BenchEngine extends EngineApi, EngineHome {
  readonly proc: TelemyProcess;
  /** The dashboard URL with its token, as printed. */
  readonly url: string;
  readonly token: string;
  /** The engine process itself: with `start`, the shim's one child. */
  pid(): Promise<number>;
  stop(): Promise<number | null>;
}

export function engineApi(port: number, token: string): EngineApi {
  const base = `http://127.0.0.1:${port}`;
  const call = async (route: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(`${base}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    });
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${route}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };
  return {
    get: async <T>(route: string) => (await (await call(route)).json()) as T,
    post: async <T>(route: string, body: unknown = {}) =>
      (await (
        await call(route, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as T,
    metrics: async () => {
      const text = await (await call('/metrics')).text();
      return (name) => {
        const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
        return m ? Number(m[1]) : null;
      };
    },
  };
}

/** Writes a fresh data folder's config and vault. */
export function engineHome(opts: HomeOptions): EngineHome {
  const home = newTelemyHome();
  const log = join(home, 'engine.log');
  const configFile = writeConfig(
    home,
    [
      `[obs]\nport = ${opts.obsPort}`,
      `[server]\nport = ${opts.port}`,
      ...(opts.log ? [`[log]\nlevel = "info"\nfile = "${log}"`] : []),
      ...opts.toml,
      '',
    ].join('\n'),
  );
  for (const [key, secret] of Object.entries(opts.secrets ?? {})) {
    const r = telemySync(['vault', 'set', key], { home, input: `${secret}\n` });
    if (r.status !== 0) throw new Error(`could not store ${key} in the vault: ${r.stderr.trim()}`);
  }
  return { home, configFile, log };
}

/** Starts the process on a data folder and waits for its dashboard line. */
export async function launchEngine(h: EngineHome, opts: LaunchOptions): Promise<BenchEngine> {
  const proc = startTelemy([opts.command, '--config', h.configFile], {
    home: h.home,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.ownSession ? { ownSession: true } : {}),
  });
  const [, url, token] = (await proc.waitFor(/dashboard: (\S+\?token=(\S+))/, 120_000)) as string[];
  const launched = proc.proc.pid as number;
  return {
    ...engineApi(opts.port, token as string),
    ...h,
    proc,
    url: url as string,
    token: token as string,
    async pid() {
      if (opts.command === 'engine') return launched;
      const { value } = await eventually(() => {
        const c = children(launched);
        return c.length === 1 ? c[0] : null;
      }, 30_000);
      return value as number;
    },
    stop: () => proc.stop(),
  };
}

/** A fresh data folder and the process on it. */
export function startEngine(opts: HomeOptions & LaunchOptions): Promise<BenchEngine> {
  return launchEngine(engineHome(opts), opts);
}
