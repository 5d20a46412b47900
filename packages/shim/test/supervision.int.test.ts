import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../engine/test/ipc/helpers.js';
import { runShim, type ShimHandle } from '../src/index.js';

const ENGINE = [
  process.execPath,
  '--import',
  'tsx',
  path.resolve(import.meta.dirname, 'fixtures/ipc-test-engine.ts'),
];
// Nothing listens here: the supervision tests do not need OBS (the OBS test covers "OBS untouched").
const NO_OBS = { host: '127.0.0.1', port: 46098, password: 'unused' };

const handles: ShimHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
});

async function start(dashboardPort: number, env: NodeJS.ProcessEnv = {}) {
  const home = mkdtempSync(path.join(tmpdir(), 'telemy-shim-'));
  const lines: string[] = [];
  const shim = await runShim({
    engineCommand: ENGINE,
    ipcDir: path.join(home, 'run'),
    obs: NO_OBS,
    dashboardPort,
    logger: createLogger('shim-test', { level: 'silent' }),
    startupWindowMs: 15_000,
    env: { TELEMY_HOME: home, ...env },
    forwardEngineOutput: false,
    printLine: (l) => lines.push(l),
    pingIntervalMs: 200,
  });
  handles.push(shim);
  // The first spawn happens inside runShim, before a listener can be attached.
  const spawns: number[] = [1];
  shim.on('engine-spawn', (s) => spawns.push(s.attempt));
  return { shim, lines, spawns };
}

describe('shim supervision (real processes)', () => {
  it('kill -9 → restarted once and resumes its state; kill again → no restart, failure page served', async () => {
    const { shim, lines, spawns } = await start(7171);
    await waitFor(() => shim.ipcConnected && shim.lastStatus, 15_000, 'first engine up');
    expect(shim.lastStatus?.bitrate_kbps).toBe(1); // boot 1
    expect(shim.setMode('irl')).toBe(true);
    await waitFor(() => shim.lastStatus?.mode === 'irl', 3000, 'mode persisted');

    const firstPid = shim.enginePid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => spawns.includes(2), 5000, 'restart');
    // The restarted engine reads the state file: boot 2, still IRL; the shim asked for it after reconnecting.
    await waitFor(() => shim.ipcConnected && shim.lastStatus?.bitrate_kbps === 2, 15_000, 'second engine up');
    expect(shim.lastStatus?.mode).toBe('irl');
    expect(shim.enginePid).not.toBe(firstPid);
    expect(lines).toEqual([
      expect.stringMatching(/engine stopped \(engine killed by SIGKILL\); restarting it once/),
    ]);

    process.kill(shim.enginePid!, 'SIGKILL');
    await waitFor(() => shim.state === 'failed', 5000, 'gave up');
    expect(lines[1]).toBe(
      'telemy: engine failed twice: engine killed by SIGKILL — run `telemy start` again after fixing it',
    );
    const res = await waitFor(
      async () => fetch('http://127.0.0.1:7171/').catch(() => undefined),
      3000,
      'page',
    );
    const page = await res;
    expect(page?.status).toBe(503);
    const html = await page!.text();
    expect(html).toContain('engine failed twice');
    expect(html).toContain('engine killed by SIGKILL');
    expect(html).toContain('telemy start');
    await new Promise((r) => setTimeout(r, 500));
    expect(spawns).toEqual([1, 2]);
    expect(shim.engineRestarts).toBe(1);
    expect(shim.enginePid).toBeUndefined();
  });

  it('an engine that keeps failing at startup is restarted once, then reported with its last error line', async () => {
    const { shim, lines, spawns } = await start(7172, { TEST_ENGINE_CRASH_ON_BOOT: '1' });
    await waitFor(() => shim.state === 'failed', 15_000, 'gave up');
    expect(spawns).toEqual([1, 2]);
    expect(lines.at(-1)).toBe(
      'telemy: engine failed twice: test engine: config is broken (boot 2) (exited with code 1) — run `telemy start` again after fixing it',
    );
    const page = await fetch('http://127.0.0.1:7172/');
    expect(await page.text()).toContain('config is broken (boot 2)');
  });

  it('shutdown_request from the engine stops the engine and ends the shim', async () => {
    const { shim } = await start(7173);
    await waitFor(() => shim.ipcConnected, 15_000, 'engine up');
    const pid = shim.enginePid!;
    shim.setSetting('alerts', false);
    expect(await shim.done).toEqual({ reason: 'shutdown_request', detail: 'manual_exit' });
    expect(shim.state).toBe('stopped');
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('an engine that exits cleanly on its own is not restarted and the shim ends', async () => {
    const { shim, spawns } = await start(7174);
    await waitFor(() => shim.ipcConnected, 15_000, 'engine up');
    process.kill(shim.enginePid!, 'SIGTERM');
    expect(await shim.done).toEqual({ reason: 'engine_exited' });
    expect(spawns).toEqual([1]);
  });

  it('an engine that never answers hello counts as failed: one restart, then the failure line', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'telemy-shim-'));
    const lines: string[] = [];
    const shim = await runShim({
      engineCommand: [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)'],
      ipcDir: path.join(home, 'run'),
      obs: NO_OBS,
      dashboardPort: 7176,
      logger: createLogger('shim-test', { level: 'silent' }),
      startupWindowMs: 1000,
      env: { TELEMY_HOME: home },
      forwardEngineOutput: false,
      printLine: (l) => lines.push(l),
    });
    handles.push(shim);
    await waitFor(() => shim.state === 'failed', 10_000, 'gave up');
    expect(shim.engineRestarts).toBe(1);
    expect(lines).toEqual([
      'telemy: engine stopped (the engine did not answer the IPC handshake within 1 s); restarting it once',
      'telemy: engine failed twice: the engine did not answer the IPC handshake within 1 s — run `telemy start` again after fixing it',
    ]);
  });
});
