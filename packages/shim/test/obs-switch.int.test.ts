import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, type SceneListPayload } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObsHandle, startObs } from '../../../test/support/obs-harness.js';
import { EngineMetrics, IpcServer, snapshot, waitFor } from '../../engine/test/ipc/helpers.js';
import { runShim, type ShimHandle } from '../src/index.js';

const OBS_PORT = 46001;
const PASSWORD = 'shim-obs-test-pw';
const silent = createLogger('shim-obs-test', { level: 'silent' });

let obs: ObsHandle;
let ipcDir: string;
let server: IpcServer;
let shim: ShimHandle;
const sceneLists: SceneListPayload[] = [];
const shutdowns: string[] = [];

function isSubsequence(xs: string[], of: string[]): boolean {
  let i = 0;
  for (const x of of) if (xs[i] === x) i += 1;
  return i === xs.length;
}

function startShim(): Promise<ShimHandle> {
  return runShim({
    engineCommand: [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)'],
    ipcDir,
    obs: { host: '127.0.0.1', port: OBS_PORT, password: PASSWORD },
    dashboardPort: 7175,
    logger: silent,
    forwardEngineOutput: false,
    pingIntervalMs: 200,
    obsRetryMs: 200,
  });
}

// The engine side runs in this process (a real IpcServer) so the test can drive it; the shim still
// spawns and supervises a child, here a placeholder process that stays alive.
beforeAll(async () => {
  obs = await startObs({ port: OBS_PORT, password: PASSWORD, scenes: ['Live', 'BRB', 'Low'] });
  await obs.setScene('Live');
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'telemy-shim-obs-')), 'run');
  server = new IpcServer({
    dir,
    logger: silent,
    metrics: new EngineMetrics(),
    coreVersion: 'test',
    getStatusSnapshot: () => snapshot(),
    onSceneList: (l) => sceneLists.push(l),
    onObsShutdown: (r) => shutdowns.push(r),
  });
  await server.start();
  ipcDir = dir;
  shim = await startShim();
  await waitFor(() => server.ready(), 20_000, 'ipc ready');
});

afterAll(async () => {
  await shim?.stop();
  await server?.stop();
  await obs?.dispose();
});

describe('shim ⇄ real OBS', () => {
  it('reports the scene list in OBS order with the current scene, and again when it changes', async () => {
    const first = await waitFor(() => sceneLists.find((l) => l.scenes.includes('Low')), 10_000, 'scene list');
    // OBS's UI lists scenes in creation order here (top first); obs-websocket itself lists bottom first.
    expect(first.scenes.filter((s) => ['Live', 'BRB', 'Low'].includes(s))).toEqual(['Live', 'BRB', 'Low']);
    expect(first.current).toBe('Live');
    await obs.createScene('Intermission');
    await waitFor(() => sceneLists.at(-1)?.scenes.includes('Intermission'), 5000, 'updated list');
  });

  it('executes an engine switch in OBS and acknowledges it', async () => {
    const switcher = server;
    expect(switcher.ready()).toBe(true);
    const r = await switcher.switchScene({
      requestId: 'e2e-1',
      scene: 'BRB',
      reason: 'auto_failover',
      deadlineMs: 550,
    });
    expect(r).toMatchObject({ ok: true, error: null });
    expect(r.latencyMs).toBeLessThan(550);
    expect(await obs.currentScene()).toBe('BRB');
  });

  it('executes back-to-back switches strictly in order', async () => {
    const client = await obs.client();
    // With a Fade, OBS reports only the last of overlapping transitions as an event; a Cut reports each.
    await client.call('SetCurrentSceneTransition', { transitionName: 'Cut' });
    const seen: string[] = [];
    const executed: string[] = [];
    shim.on('switch', (r) => executed.push(r.request_id));
    const onChange = ({ sceneName }: { sceneName: string }) => seen.push(sceneName);
    client.on('CurrentProgramSceneChanged', onChange);
    const switcher = server;
    const results = await Promise.all(
      ['Live', 'Low', 'BRB', 'Live'].map((scene, i) =>
        switcher.switchScene({ requestId: `seq-${i}`, scene, reason: 'manual', deadlineMs: 2000 }),
      ),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    await new Promise((r) => setTimeout(r, 300));
    client.off('CurrentProgramSceneChanged', onChange);
    await client.call('SetCurrentSceneTransition', { transitionName: 'Fade' });
    expect(executed).toEqual(['seq-0', 'seq-1', 'seq-2', 'seq-3']);
    // OBS may fold rapid program changes into fewer events, but never reorders them.
    expect(seen.at(-1)).toBe('Live');
    expect(isSubsequence(seen, ['Live', 'Low', 'BRB', 'Live'])).toBe(true);
    expect(await obs.currentScene()).toBe('Live');
  });

  it('answers ok:false with the reason when OBS rejects the switch', async () => {
    const r = await server.switchScene({
      requestId: 'bad-1',
      scene: 'No Such Scene',
      reason: 'chat_command',
      deadlineMs: 550,
    });
    expect(r.ok).toBe(false);
    // The same code the engine's direct path reports (test/e2e/streamer-day.test.ts checks that one).
    expect(r.error).toMatchObject({
      code: 'scene_missing',
      message: 'OBS has no scene named "No Such Scene"',
    });
    expect(await obs.currentScene()).toBe('Live');
  });

  it('with the shim gone the scene path is not ready and nothing reaches OBS', async () => {
    await shim.stop();
    await waitFor(() => !server.ready(), 3000, 'not ready');
    const switcher = server;
    expect(switcher.ready()).toBe(false);
    expect(
      await switcher.switchScene({
        requestId: 'gone-1',
        scene: 'BRB',
        reason: 'auto_failover',
        deadlineMs: 550,
      }),
    ).toMatchObject({ ok: false, error: { code: 'scene_path_down' } });
    expect(await obs.currentScene()).toBe('Live');
  });

  it('tells the engine when OBS exits (obs_shutdown_notice)', async () => {
    shim = await startShim();
    await waitFor(() => server.ready(), 20_000, 'ipc ready again');
    // SIGINT to OBS itself (not its Xvfb) makes it quit the way a user closing it does.
    process.kill(obs.pid, 'SIGINT');
    await waitFor(() => shutdowns.length > 0, 10_000, 'shutdown notice');
    expect(shutdowns).toEqual(['obs_exit']);
  });
});
