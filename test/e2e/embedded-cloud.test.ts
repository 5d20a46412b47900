import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchTelemy, toml, writeEngineConfig } from '../support/engine-run.js';
import { childPids, cmdline, environ, rssMb, running, startTime } from '../support/procs.js';
import { findSecrets } from '../support/secret-scan.js';
import { eventually, newTelemyHome, type TelemyProcess, telemySync } from '../support/telemy-process.js';

/**
 * The embedded control plane is a supervised child process of the engine, never part of it: through
 * the real CLI (`telemy start` = shim + engine, `telemy cloud …`), with real local relays. No OBS is
 * needed: a relay session runs without it.
 */

const ENGINE_PORT = 7240;
const NO_OBS_PORT = 44779;
const ENV = {
  TELEMY_RELAY_HEALTH_INTERVAL_MS: '1000',
  TELEMY_CP_WATCHDOG_INTERVAL_MS: '1000',
  TELEMY_ENGINE_STARTUP_WINDOW_MS: '60000',
};

interface SessionJson {
  session_id: string;
  status: string;
}

let home: string;
let configFile: string;
let telemy: TelemyProcess | null = null;

function cloud(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return telemySync(['--config', configFile, 'cloud', ...args], { home });
}

function cloudOk(args: string[]): string {
  const r = cloud(args);
  if (r.status !== 0) throw new Error(`telemy cloud ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function vaultGet(name: string): string {
  return telemySync(['vault', 'get', name], { home }).stdout.trim();
}

/** The engine the shim supervises: the one child of `telemy start`. */
function enginePid(): number {
  const pids = childPids(telemy?.proc.pid ?? -1);
  if (pids.length !== 1) throw new Error(`expected one engine child of the shim, found [${pids.join(',')}]`);
  return pids[0] as number;
}

/** The engine's control-plane child, or null. */
function controlPlanePid(engine: number): number | null {
  const pids = childPids(engine).filter((p) => cmdline(p).includes('control-plane --embedded'));
  if (pids.length > 1) throw new Error(`more than one control plane child: ${pids.join(',')}`);
  return pids[0] ?? null;
}

function recorded(): { url: string; port: number; pid: number } {
  return JSON.parse(readFileSync(path.join(home, 'cloud', 'embedded-control-plane.json'), 'utf8'));
}

function cpLog(): string {
  try {
    return readFileSync(path.join(home, 'cloud', 'control-plane.log'), 'utf8');
  } catch {
    return '';
  }
}

function relays(): { instance_id: string; session_id: string; pid: number }[] {
  try {
    return JSON.parse(readFileSync(path.join(home, 'relays', 'local-relays.json'), 'utf8'));
  } catch {
    return [];
  }
}

const pgliteLock = () => path.join(home, 'control-plane', 'pglite.lock');

async function startActiveSession(): Promise<SessionJson> {
  const out = cloudOk(['start', '--wait', '120', '--json']);
  const session = JSON.parse(out) as SessionJson;
  expect(session.status).toBe('active');
  return session;
}

beforeAll(async () => {
  home = newTelemyHome();
  configFile = writeEngineConfig(
    home,
    { obsPort: NO_OBS_PORT, enginePort: ENGINE_PORT },
    toml.cloudEmbedded,
    // public_host reaches the child's local relays from the config (the tests' environment binds loopback).
    '[relay]\npublic_host = "127.0.0.1"',
  );
  ({ telemy } = await launchTelemy('start', { home, env: ENV, timeoutMs: 90_000 }));
}, 120_000);

afterAll(async () => {
  if (telemy) writeFileSync(path.join(home, 'telemy-start.log'), telemy.stderr());
  await telemy?.stop();
  // A relay left behind by a failed assertion: stop its whole process group.
  for (const r of relays()) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

describe('the embedded control plane, a child process of the engine', () => {
  it('one that cannot start gives one clear error line; the next IRL start tries again', async () => {
    const engine = enginePid();
    // Another process holds the PGlite folder (this test process, alive: the lock is not stale).
    mkdirSync(path.dirname(pgliteLock()), { recursive: true });
    writeFileSync(pgliteLock(), `${process.pid} ${startTime(process.pid)}\n`);
    const refused = cloud(['start']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/control plane unreachable/i);
    const failures = () =>
      (telemy?.stderr() ?? '').split('\n').filter((l) => l.includes('embedded control plane did not start'));
    // The engine's log arrives through the shim's pipe, read while this test is not blocked.
    await eventually(() => failures().length > 0, 10_000);
    expect(failures()).toHaveLength(1);
    expect(failures()[0]).toContain(`in use by process ${process.pid}`);
    expect(controlPlanePid(engine)).toBeNull();

    rmSync(pgliteLock());
    await startActiveSession();
    // Which address the phone is given, and why: the provider's choice from the config, as both say.
    expect(cloudOk(['active'])).toContain('phone address: 127.0.0.1 (set by [relay] public_host)');
    expect(cpLog()).toContain('"why":"set by [relay] public_host"');
  }, 180_000);

  it('runs outside the engine: PGlite is the child’s, the engine stays small, no secret on its command line, environment or logs', async () => {
    const engine = enginePid();
    const child = controlPlanePid(engine);
    expect(child).not.toBeNull();
    const cp = child as number;
    expect(cmdline(cp)).toMatch(/control-plane --embedded --host 127\.0\.0\.1 --port \d+$/);
    expect(recorded()).toMatchObject({ pid: cp, url: `http://127.0.0.1:${recorded().port}` });
    expect(readFileSync(pgliteLock(), 'utf8').split(' ')[0]).toBe(String(cp));
    expect(relays()).toHaveLength(1);
    // PGlite alone is hundreds of MB: the child has it, the engine does not.
    expect(rssMb(cp)).toBeGreaterThan(200);
    expect(rssMb(engine)).toBeLessThanOrEqual(100);

    const secrets = [vaultGet('embedded_jwt_secret'), vaultGet('cloud_api_key')];
    expect(secrets[0]?.length).toBeGreaterThanOrEqual(32);
    expect(secrets[1]).toMatch(/^tmk_[A-Z2-7]{40}$/);
    for (const [what, text] of [
      ['control plane command line', cmdline(cp)],
      ['control plane log', cpLog()],
      ['engine and shim logs', `${telemy?.stdout()}\n${telemy?.stderr()}`],
    ] as const) {
      expect(findSecrets(text, secrets), what).toEqual([]);
    }
    // Environments hold the relays' own credentials (passphrases…), so only the two secrets are looked for.
    const relay = relays()[0]?.pid as number;
    for (const [what, text] of [
      ['control plane environment', environ(cp)],
      ['relay environment', environ(relay)],
    ] as const) {
      expect(text, what).not.toBe('');
      expect(secrets.filter((s) => text.includes(s)).length, what).toBe(0);
    }
    expect(cpLog()).toContain('embedded control plane ready');
  });

  it('a killed control plane is restarted on the same port; the relay and the session live on, IRL keeps working', async () => {
    const engine = enginePid();
    const before = controlPlanePid(engine) as number;
    const { url } = recorded();
    const [relay] = relays();
    const session = JSON.parse(cloudOk(['active', '--json'])) as SessionJson;

    process.kill(before, 'SIGKILL');
    const { value: after } = await eventually(() => {
      const pid = controlPlanePid(engine);
      return pid !== null && pid !== before && recorded().pid === pid ? pid : null;
    }, 60_000);
    expect(recorded().url).toBe(url);
    expect(running(relay?.pid ?? -1)).toBe(true);
    // The engine's log reaches this process through the shim, after the address file.
    await eventually(() => telemy?.stderr().includes('embedded control plane restarted'), 10_000);

    // CloudLink's token stays valid (same signing key) and the session is the same one.
    await eventually(
      () => (JSON.parse(cloud(['active', '--json']).stdout || 'null') as SessionJson | null)?.session_id,
      30_000,
      500,
    );
    expect((JSON.parse(cloudOk(['active', '--json'])) as SessionJson).session_id).toBe(session.session_id);
    cloudOk(['stop']);
    await eventually(() => !running(relay?.pid ?? -1), 15_000);
    const next = await startActiveSession();
    expect(next.session_id).not.toBe(session.session_id);
    expect(controlPlanePid(engine)).toBe(after);
  }, 180_000);

  it('dies with the engine, even when the engine is SIGKILLed; a graceful stop ends it too', async () => {
    const engine = enginePid();
    const cp = controlPlanePid(engine) as number;
    process.kill(engine, 'SIGKILL');
    const { elapsedMs } = await eventually(() => !running(cp), 5_000);
    expect(elapsedMs).toBeLessThan(3_000);

    // The shim restarts the engine, which finds the running session and starts its control plane again.
    const { value: restarted } = await eventually(() => {
      const pids = childPids(telemy?.proc.pid ?? -1);
      return pids.length === 1 && pids[0] !== engine ? pids[0] : null;
    }, 60_000);
    const { value: cp2 } = await eventually(() => {
      const pid = controlPlanePid(restarted as number);
      return pid !== null && recorded().pid === pid ? pid : null;
    }, 90_000);

    const t0 = Date.now();
    expect(await telemy?.stop()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(running(cp2)).toBe(false);
    expect(cpLog()).toMatch(/"why":"SIGTERM".*"embedded control plane stopping"/);
    telemy = null;
  }, 240_000);
});
