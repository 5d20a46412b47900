/**
 * Starting the engine under test the way a user does: a config file for the test's OBS and dashboard
 * ports, the secrets through `telemy vault set`, then `telemy engine` or `telemy start` until it
 * prints its dashboard line.
 *
 * ```ts
 * const home = newTelemyHome();
 * writeEngineConfig(home, { obsPort: 44600, enginePort: 7190 }, toml.cloudOff, toml.srtSource(file));
 * setSecrets(home, { obs_password: 'pw' });
 * const { telemy, token } = await launchTelemy('engine', { home });
 * ```
 */
import { join } from 'node:path';
import { childPids, cmdline } from './procs.js';
import { startTelemy, type TelemyProcess, telemySync, writeConfig } from './telemy-process.js';

/** Config sections the tests share. */
export const toml = {
  cloudOff: '[cloud]\nmode = "off"',
  cloudEmbedded: '[cloud]\nmode = "embedded"',
  /** Debug logging to `engine.log` in the home, for a failure to be read afterwards. */
  debugLog: (home: string) => `[log]\nlevel = "debug"\nfile = "${join(home, 'engine.log')}"`,
  /** Scene roles of the IRL tests: no LOW scene. */
  irlScenes: '[scenes]\nlive = "LIVE"\nlow = ""\nbrb = "BRB"\noffline = "OFFLINE"',
  /** The relay session's ingest as the feed. */
  relaySource: '[[sources]]\nname = "relay"\ntype = "relay"',
  /** The `srt_live_transmit` ingest source "phone" reading `statsFile`. */
  srtSource: (statsFile: string) =>
    `[[sources]]\nname = "phone"\ntype = "srt_live_transmit"\nstats_file = "${statsFile}"`,
};

/**
 * `config.toml` in `home`: OBS and the dashboard (on `engineHost`, default loopback) on the test's
 * ports, then `sections`; returns its path.
 */
export function writeEngineConfig(
  home: string,
  at: { obsPort: number; enginePort: number; engineHost?: string },
  ...sections: string[]
): string {
  const host = at.engineHost === undefined ? '' : `host = "${at.engineHost}"\n`;
  return writeConfig(
    home,
    [`[obs]\nport = ${at.obsPort}`, `[server]\n${host}port = ${at.enginePort}`, ...sections, ''].join('\n'),
  );
}

/** `telemy vault set <name>` for each secret; throws with the CLI's stderr when one fails. */
export function setSecrets(home: string, secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) {
    const r = telemySync(['vault', 'set', name], { home, input: `${value}\n` });
    if (r.status !== 0) throw new Error(`telemy vault set ${name} exited ${r.status}: ${r.stderr}`);
  }
}

export interface LaunchedTelemy {
  telemy: TelemyProcess;
  /** The dashboard URL with its token, as printed. */
  dashboardUrl: string;
  token: string;
}

/**
 * `telemy engine` (direct switching) or `telemy start` (shim + engine) with `home`'s config.toml
 * (or `config`), once it has printed its dashboard line; a process that never does is stopped.
 */
export async function launchTelemy(
  command: 'engine' | 'start',
  opts: { home: string; config?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<LaunchedTelemy> {
  const config = opts.config ?? join(opts.home, 'config.toml');
  const telemy = startTelemy([command, '--config', config], { home: opts.home, env: opts.env });
  try {
    const m = await telemy.waitFor(/dashboard: (\S+\?token=(\S+))/, opts.timeoutMs);
    return { telemy, dashboardUrl: m[1] as string, token: m[2] as string };
  } catch (err) {
    await telemy.stop();
    throw err;
  }
}

/** The engine `telemy start` runs (its child with the `engine` argument; a restart changes it), or null. */
export function shimEngine(shimPid: number): number | null {
  return childPids(shimPid).find((pid) => cmdline(pid).split(' ').includes('engine')) ?? null;
}
