import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { chatAuthCheck, oauthEntryName, type Platform } from '@telemy/engine/chat-auth';
import {
  ConfigError,
  type LoadedConfig,
  type SceneRolesConfig,
  type SourceConfig,
} from '@telemy/engine/config';
import { type Vault, vaultFileIn } from '@telemy/engine/vault';
import type { FallbackRole } from '@telemy/protocol';
import { errorText, telemyPaths } from '@telemy/protocol';
import { type Command, InvalidArgumentError } from 'commander';
import OBSWebSocket from 'obs-websocket-js';
import { loadCliConfig, openCliVault } from '../context.js';
import { checkChatToken } from './doctor-chat.js';
import { checkSources, type ObsInputs, readObsInputs } from './doctor-sources.js';

type Level = 'ok' | 'warn' | 'FAIL';
export interface Check {
  level: Level;
  what: string;
  detail: string;
}

/** `telemy doctor`: one line per dependency, with what to do when it is wrong. Exit 1 when any line fails. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check config, vault, OBS and its scenes, feed sources, ports, system tools, control plane and chat tokens; print what to fix',
    )
    .option('--timeout <ms>', 'network check timeout', parseTimeout, 3000)
    .action(async (opts: { timeout: number }, cmd: Command) => {
      const timeoutMs = opts.timeout;
      const checks: Check[] = [];
      let loaded: LoadedConfig | null = null;
      try {
        // Its warnings become doctor lines instead of stderr lines.
        loaded = loadCliConfig(cmd, undefined, false);
        checks.push({
          level: 'ok',
          what: 'config',
          detail: `${loaded.path ?? 'defaults (no file)'} is valid`,
        });
        for (const w of loaded.warnings) checks.push({ level: 'warn', what: 'config', detail: w });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const line of err.lines)
          checks.push({
            level: 'FAIL',
            what: 'config',
            detail: `${line} — fix the file, then \`telemy config validate\``,
          });
      }
      let vault: Vault | null = null;
      // Doctor only looks: opening a vault that does not exist yet would create its key.
      const vaultFile = vaultFileIn(telemyPaths().data);
      if (!existsSync(vaultFile)) {
        checks.push({
          level: 'ok',
          what: 'vault',
          detail: `${vaultFile} not created yet (\`telemy start\` or \`telemy vault set\` creates it)`,
        });
      } else {
        try {
          vault = await openCliVault();
          checks.push({
            level: 'ok',
            what: 'vault',
            detail: `${vault.file} readable (${vault.list().length} entries)`,
          });
          for (const name of vault.corrupted())
            checks.push({
              level: 'FAIL',
              what: 'vault',
              detail: `entry "${name}" is corrupted (it does not decrypt with the vault key) — \`telemy vault set ${name}\` to replace it`,
            });
          if (vault.keyStore.kind === 'key_file') {
            checks.push({
              level: 'warn',
              what: 'vault key',
              detail: `no OS secret store; the key is in ${vault.keyStore.location} (0600) — anyone with this file and the vault can read your secrets`,
            });
          }
        } catch (err) {
          checks.push({
            level: 'FAIL',
            what: 'vault',
            detail: errorText(err),
          });
        }
      }
      if (loaded) {
        const cfg = loaded.config;
        // A corrupted entry is already a FAIL line above; it is then read as missing.
        const read = (key: string) => (vault && !vault.corrupted().includes(key) ? vault.get(key) : null);
        const obs = await checkObs(
          cfg.obs.host,
          cfg.obs.port,
          read(cfg.obs.password_key),
          cfg.obs.password_key,
          timeoutMs,
          cfg.scenes,
          cfg.sources,
        );
        checks.push(...obs.checks);
        checks.push(...(await checkSources(cfg.sources, { timeoutMs, obs: obs.inputs, secret: read })));
        checks.push(await checkPort(cfg.server.host, cfg.server.port, timeoutMs));
        checks.push(await checkControlPlane(cfg.cloud.mode, cfg.cloud.base_url, timeoutMs));
        for (const [platform, section] of Object.entries({
          twitch: cfg.chat.twitch,
          kick: cfg.chat.kick,
          youtube: cfg.chat.youtube,
        })) {
          if (!section) continue;
          checks.push(
            chatAuthCheck(
              platform as Platform,
              section,
              {
                oauth: read(oauthEntryName(platform as Platform)),
                pasted: section.token_key ? (vault?.has(section.token_key) ?? false) : false,
              },
              Date.now(),
            ),
          );
          // The access token is validated; nothing is refreshed (that would spend the engine's refresh token).
          const token = await checkChatToken(platform as Platform, section, read, timeoutMs);
          if (token) checks.push(token);
        }
      }
      checks.push(checkBuild());
      checks.push(checkTool('srt-live-transmit', 'srt-tools', 'needed for the local relay (IRL)'));
      if (process.platform === 'linux') {
        checks.push(checkTool('setpriv', 'util-linux', "lets the relay's SRT children die with it", 'warn'));
      }
      checks.push(checkTool('ffmpeg', 'ffmpeg', 'used by tests and benchmarks only', 'warn'));
      for (const c of checks)
        process.stdout.write(`${c.level.padEnd(4)}  ${c.what.padEnd(18)} ${c.detail}\n`);
      const failed = checks.filter((c) => c.level === 'FAIL').length;
      process.stdout.write(
        failed === 0 ? 'doctor: everything needed is in place\n' : `doctor: ${failed} problem(s) to fix\n`,
      );
      if (failed > 0) process.exitCode = 1;
    });
}

function parseTimeout(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 600_000)
    throw new InvalidArgumentError('a timeout is a whole number of milliseconds, 1-600000');
  return n;
}

async function checkObs(
  host: string,
  port: number,
  password: string | null,
  passwordKey: string,
  timeoutMs: number,
  roles: SceneRolesConfig,
  sources: SourceConfig[],
): Promise<{ checks: Check[]; inputs: ObsInputs | null }> {
  const obs = new OBSWebSocket();
  const url = `ws://${host}:${port}`;
  try {
    const timeout = new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error('timed out')), timeoutMs).unref(),
    );
    // OBS's Hello carries an authentication challenge only when its password is on; connect()'s
    // answer leaves the challenge out, the Hello event keeps it.
    let challenged = false;
    obs.once('Hello', (h) => {
      challenged = h.authentication !== undefined;
    });
    const hello = await Promise.race([obs.connect(url, password ?? undefined), timeout]);
    const auth = challenged ? 'authenticated' : 'authentication off (OBS asks for no password)';
    const list = await Promise.race([obs.call('GetSceneList'), timeout]);
    const scenes = list.scenes.map((s) => String(s.sceneName));
    const inputs = await Promise.race([
      readObsInputs((type, data) => obs.call(type as 'GetInputList', data as never), sources),
      timeout,
    ]);
    return {
      checks: [
        {
          level: 'ok',
          what: 'obs',
          detail: `${url} reachable, obs-websocket ${hello.obsWebSocketVersion}, ${auth}`,
        },
        ...checkRoleScenes(roles, scenes),
      ],
      inputs,
    };
  } catch (err) {
    const code = (err as { code?: number }).code;
    const fail = (detail: string) => ({
      checks: [{ level: 'FAIL' as const, what: 'obs', detail }],
      inputs: null,
    });
    if (code === 4009)
      return fail(
        `${url} rejected the password — copy it from OBS (Tools → WebSocket Server Settings) into \`telemy vault set ${passwordKey}\``,
      );
    if (code === 4008 && !password)
      return fail(`${url} requires a password — \`telemy vault set ${passwordKey}\``);
    return fail(
      `${url} not reachable (${errorText(err)}) — start OBS and enable Tools → WebSocket Server Settings → Enable`,
    );
  } finally {
    await obs.disconnect().catch(() => undefined);
  }
}

/**
 * Every role scene against OBS's scene list: a missing LIVE, OFFLINE, or BRB with no fallback
 * scene fails (automation could not put it on air); a missing BRB with a stand-in, or a missing LOW,
 * is a warning.
 */
export function checkRoleScenes(roles: SceneRolesConfig, scenes: string[]): Check[] {
  const byRole: Record<FallbackRole | 'LIVE', string> = {
    LIVE: roles.live,
    LOW: roles.low,
    BRB: roles.brb,
    OFFLINE: roles.offline,
  };
  const checks: Check[] = [];
  for (const [role, scene] of Object.entries(byRole) as [keyof typeof byRole, string][]) {
    const what = `scene ${role}`;
    if (scene === '') {
      checks.push({ level: 'ok', what, detail: 'not configured (a weak feed stays on LIVE)' });
      continue;
    }
    if (scenes.includes(scene)) {
      checks.push({ level: 'ok', what, detail: `'${scene}' exists in OBS` });
      continue;
    }
    const standIn =
      role === 'BRB'
        ? roles.fallback.map((r) => byRole[r]).find((s) => s !== '' && s !== scene && scenes.includes(s))
        : undefined;
    const fix = `create it in OBS or pick another in [scenes] ${role.toLowerCase()} (the dashboard's settings page lists OBS's scenes)`;
    checks.push(
      standIn
        ? {
            level: 'warn',
            what,
            detail: `'${scene}' does not exist in OBS; '${standIn}' stands in for it — ${fix}`,
          }
        : {
            level: role === 'LOW' ? 'warn' : 'FAIL',
            what,
            detail: `'${scene}' does not exist in OBS: automation cannot put ${role} on air — ${fix}`,
          },
    );
  }
  return checks;
}

async function checkPort(host: string, port: number, timeoutMs: number): Promise<Check> {
  const free = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
  if (free) return { level: 'ok', what: 'dashboard port', detail: `${host}:${port} is free` };
  const telemy = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) })
    .then((r) => r.ok)
    .catch(() => false);
  return telemy
    ? { level: 'ok', what: 'dashboard port', detail: `${host}:${port} is served by a running Telemy engine` }
    : {
        level: 'FAIL',
        what: 'dashboard port',
        detail: `${host}:${port} is taken by another program — set [server] port or TELEMY_SERVER_PORT`,
      };
}

async function checkControlPlane(
  mode: string,
  baseUrl: string | undefined,
  timeoutMs: number,
): Promise<Check> {
  if (mode === 'off') return { level: 'ok', what: 'control plane', detail: 'cloud is off' };
  if (mode === 'embedded')
    return {
      level: 'ok',
      what: 'control plane',
      detail: 'embedded (PGlite in the data folder, local relays)',
    };
  const url = `${(baseUrl ?? '').replace(/\/$/, '')}/healthz`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return r.ok
      ? { level: 'ok', what: 'control plane', detail: `${baseUrl} reachable` }
      : {
          level: 'FAIL',
          what: 'control plane',
          detail: `${url} answered ${r.status} — check [cloud] base_url`,
        };
  } catch (err) {
    return {
      level: 'FAIL',
      what: 'control plane',
      detail: `${url} not reachable (${errorText(err)}) — check [cloud] base_url and your network`,
    };
  }
}

/** Which code this command runs: the bundle `bin/telemy.js` picks when it is current, or the sources. */
function checkBuild(): Check {
  return import.meta.url.includes('/cli/dist/')
    ? { level: 'ok', what: 'build', detail: 'running the bundle (packages/cli/dist)' }
    : {
        level: 'warn',
        what: 'build',
        detail:
          'running the TypeScript sources through tsx (no bundle, or a source file is newer): `npm run build` saves the engine ~35 MB',
      };
}

function checkTool(bin: string, pkg: string, why: string, missingLevel: Level = 'FAIL'): Check {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' });
    return { level: 'ok', what: bin, detail: `present (${why})` };
  } catch {
    return { level: missingLevel, what: bin, detail: `missing (${why}) — apt-get install ${pkg}` };
  }
}
