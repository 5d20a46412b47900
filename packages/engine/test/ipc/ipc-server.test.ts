import { chmod, mkdir, stat } from 'node:fs/promises';
import { connectIpcChannel, encodeFrame, FramedSocket, ipcEndpoints, makeMessage } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { IpcServer } from '../../src/ipc/index.js';
import { rawClient, retry, snapshot, startServer, tempIpcDir, waitFor } from './helpers.js';

const servers: IpcServer[] = [];
async function server(overrides: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer(overrides);
  servers.push(s.server);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function readyClient(dir: string) {
  const c = await rawClient(dir);
  c.hello();
  await c.next('hello_ack');
  c.ping(1);
  await c.next('pong');
  return c;
}

describe('IpcServer', () => {
  it('creates the socket folder 0700 and both sockets 0600, even over a looser existing folder', async () => {
    const dir = await tempIpcDir();
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    await server({ dir });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const ep = ipcEndpoints(dir);
    for (const p of [ep.cmd, ep.evt]) {
      const s = await stat(p);
      expect(s.isSocket()).toBe(true);
      expect(s.mode & 0o777).toBe(0o600);
    }
    expect(ep.cmd.endsWith('aegis_cmd_v1.sock')).toBe(true);
    expect(ipcEndpoints(dir, 'win32')).toEqual({
      cmd: '\\\\.\\pipe\\aegis_cmd_v1',
      evt: '\\\\.\\pipe\\aegis_evt_v1',
    });
  });

  it('refuses to start over the sockets of a live engine', async () => {
    const { dir } = await server();
    await expect(startServer({ dir })).rejects.toThrow(/already listening/);
  });

  it('handshakes, answers pings with the same nonce and becomes ready', async () => {
    const { server: s, dir } = await server();
    const readiness: boolean[] = [];
    s.on('ready', (r) => readiness.push(r));
    const c = await rawClient(dir);
    c.hello();
    const ack = await c.next('hello_ack');
    expect(ack.payload).toEqual({
      core_version: '9.9.9',
      protocol_version: 1,
      capabilities: ['state_machine', 'chatbridge', 'dashboard'],
    });
    expect(ack.priority).toBe('high');
    expect(s.ready()).toBe(false);
    c.ping('abc');
    expect((await c.next('pong')).payload.nonce).toBe('abc');
    await waitFor(() => s.ready(), 1000, 'ready');
    expect(readiness).toEqual([true]);
    c.close();
    await waitFor(() => !s.ready(), 1000, 'not ready');
    expect(readiness).toEqual([true, false]);
  });

  it('answers request_status at once and pushes snapshots on change and periodically', async () => {
    let bitrate = 100;
    const { server: s, dir } = await server({
      getStatusSnapshot: () => snapshot({ bitrate_kbps: bitrate }),
      snapshotIntervalMs: 100,
    });
    const c = await readyClient(dir);
    const mark = c.received.length;
    c.cmd.send(makeMessage('request_status', {}));
    expect((await c.next('status_snapshot', mark)).payload.bitrate_kbps).toBe(100);
    bitrate = 200;
    const mark2 = c.received.length;
    s.notifyStatusChanged();
    expect((await c.next('status_snapshot', mark2, 90)).payload.bitrate_kbps).toBe(200);
    const mark3 = c.received.length;
    await c.next('status_snapshot', mark3, 400);
  });

  it('passes set_mode, set_setting, scene_list and obs_shutdown_notice to the engine', async () => {
    const calls: unknown[] = [];
    const { dir } = await server({
      onSetMode: (m) => calls.push(['mode', m]),
      onSetSetting: (k, v) => calls.push(['setting', k, v]),
      onSceneList: (l) => calls.push(['scenes', l]),
      onObsShutdown: (r) => calls.push(['shutdown', r]),
    });
    const c = await readyClient(dir);
    c.cmd.send(makeMessage('set_mode_request', { mode: 'irl' }));
    c.cmd.send(makeMessage('set_setting_request', { key: 'manual_override', value: true }));
    c.cmd.send(makeMessage('scene_list', { scenes: ['Live', 'BRB'], current: 'Live' }));
    c.cmd.send(makeMessage('obs_shutdown_notice', { reason: 'obs_exit' }));
    await waitFor(() => calls.length === 4, 2000, 'callbacks');
    expect(calls).toEqual([
      ['mode', 'irl'],
      ['setting', 'manual_override', true],
      ['scenes', { scenes: ['Live', 'BRB'], current: 'Live' }],
      ['shutdown', 'obs_exit'],
    ]);
  });

  it('answers an unknown type with protocol_error(unknown_type) and keeps the session', async () => {
    const { server: s, dir } = await server();
    const c = await readyClient(dir);
    const bogus = { ...makeMessage('ping', { nonce: 1 }), type: 'teleport' };
    c.cmd.socket.write(encodeFrame(bogus));
    const err = await c.next('protocol_error');
    expect(err.payload).toMatchObject({ code: 'unknown_type', related_message_id: bogus.id });
    const mark = c.received.length;
    c.ping(2);
    await c.next('pong', mark);
    expect(s.ready()).toBe(true);
  });

  it('version mismatch: user notice + protocol_error(version_mismatch), session closed, engine keeps serving', async () => {
    const { server: s, dir } = await server();
    const alerts: string[] = [];
    s.on('alert', (a) => alerts.push(a.kind));
    const c = await rawClient(dir);
    c.hello(2);
    const notice = await c.next('user_notice');
    expect(notice.payload.level).toBe('error');
    expect(notice.payload.message).toMatch(/Protocol mismatch/);
    expect((await c.next('protocol_error')).payload.code).toBe('version_mismatch');
    await waitFor(() => c.closed, 2000, 'close');
    // The envelope version is checked too.
    const c2 = await rawClient(dir);
    c2.cmd.socket.write(encodeFrame({ ...makeMessage('ping', { nonce: 1 }), v: 3 }));
    expect((await c2.next('protocol_error')).payload.code).toBe('version_mismatch');
    await waitFor(() => c2.closed, 2000, 'close');
    expect(alerts).toEqual(['version_mismatch', 'version_mismatch']);
    const c3 = await readyClient(dir);
    expect(s.ready()).toBe(true);
    c3.close();
  });

  it('refuses a second client with a clear notice while the first keeps working', async () => {
    const { server: s, dir } = await server();
    const first = await readyClient(dir);
    const ep = ipcEndpoints(dir);
    const second = new FramedSocket(await connectIpcChannel(ep.evt));
    const got: string[] = [];
    second.on('message', (m) => got.push(m.type === 'user_notice' ? m.payload.message : m.type));
    await waitFor(() => second.closed, 2000, 'refused client closed');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/another shim is already connected/);
    const mark = first.received.length;
    first.ping(9);
    await first.next('pong', mark);
    expect(s.ready()).toBe(true);
  });

  it('resets the session after more than 5 protocol errors in 10 s, without crashing', async () => {
    const { server: s, dir } = await server();
    const alerts: string[] = [];
    s.on('alert', (a) => alerts.push(a.kind));
    const c = await readyClient(dir);
    for (let i = 0; i < 6; i++) c.cmd.socket.write(Buffer.from([1, 0, 0, 0, 0xc1]));
    await waitFor(() => c.closed, 2000, 'reset');
    expect(alerts).toEqual(['protocol_error_storm']);
    expect(c.received.filter((m) => m.type === 'protocol_error')).toHaveLength(6);
    expect(s.ready()).toBe(false);
    await readyClient(dir);
    expect(s.ready()).toBe(true);
  });

  it('closes a session that stops pinging and recreates its endpoints', async () => {
    const { server: s, dir, metrics } = await server({ pingTimeoutMs: 300 });
    const alerts: string[] = [];
    s.on('alert', (a) => alerts.push(a.kind));
    const c = await readyClient(dir);
    expect(s.ready()).toBe(true);
    await waitFor(() => c.closed, 2000, 'session closed');
    expect(s.ready()).toBe(false);
    expect(alerts).toEqual(['heartbeat_lost']);
    await retry(() => readyClient(dir));
    expect(s.ready()).toBe(true);
    const reconnects = await metrics.registry.getSingleMetric('telemy_ipc_reconnects_total')?.get();
    expect(reconnects?.values[0]?.value).toBe(1);
  });

  it('switchScene resolves with the shim result, a timeout, or a disconnect; not ready → refused', async () => {
    const { server: s, dir, metrics } = await server();
    const switcher = s;
    expect(switcher.ready()).toBe(false);
    expect(
      await switcher.switchScene({ requestId: 'r0', scene: 'BRB', reason: 'auto_failover', deadlineMs: 550 }),
    ).toEqual({ ok: false, error: { code: 'scene_path_down', message: expect.any(String) }, latencyMs: 0 });

    const c = await readyClient(dir);
    expect(switcher.ready()).toBe(true);
    c.evt.on('message', (m) => {
      if (m.type === 'switch_scene' && m.payload.scene_name !== 'Silent') {
        c.cmd.send(
          makeMessage('scene_switch_result', {
            request_id: m.payload.request_id,
            ok: m.payload.scene_name === 'BRB',
            error: m.payload.scene_name === 'BRB' ? null : 'no such scene',
            error_code: m.payload.scene_name === 'BRB' ? null : 'scene_missing',
          }),
        );
      }
    });
    const ok = await switcher.switchScene({
      requestId: 'r1',
      scene: 'BRB',
      reason: 'auto_failover',
      deadlineMs: 550,
    });
    expect(ok.ok).toBe(true);
    expect(ok.error).toBeNull();
    const sent = c.received.find((m) => m.type === 'switch_scene');
    expect(sent).toMatchObject({
      priority: 'critical',
      payload: { request_id: 'r1', scene_name: 'BRB', reason: 'auto_failover', deadline_ms: 550 },
    });
    expect(
      await switcher.switchScene({ requestId: 'r2', scene: 'Nope', reason: 'manual', deadlineMs: 550 }),
    ).toMatchObject({
      ok: false,
      error: { code: 'scene_missing', message: 'no such scene' },
    });
    const started = Date.now();
    const late = await switcher.switchScene({
      requestId: 'r3',
      scene: 'Silent',
      reason: 'manual',
      deadlineMs: 150,
    });
    expect(late).toMatchObject({ ok: false, error: { code: 'deadline_exceeded' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const pending = switcher.switchScene({
      requestId: 'r4',
      scene: 'Silent',
      reason: 'manual',
      deadlineMs: 5000,
    });
    c.close();
    expect(await pending).toMatchObject({ ok: false, error: { code: 'scene_path_down' } });
    const path = await metrics.registry.getSingleMetric('telemy_scene_switch_ipc_path_seconds')?.get();
    const counts = Object.fromEntries(
      (path?.values ?? [])
        .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))
        .map((v) => [v.labels.result, v.value]),
    );
    expect(counts).toEqual({ ok: 1, failed: 1, timeout: 1 });
  });

  it('writes a critical switch_scene ahead of a queued low/normal flood over the real socket', async () => {
    const { server: s, dir } = await server();
    const c = await readyClient(dir);
    // Stop reading so the engine's writer backs up, then flood and send one switch.
    c.evt.socket.pause();
    for (let i = 0; i < 20_000; i++) {
      s.send(makeMessage('user_notice', { level: 'info', message: `flood ${i} ${'x'.repeat(100)}` }, 'low'));
    }
    void s.switchScene({ requestId: 'urgent', scene: 'BRB', reason: 'auto_failover', deadlineMs: 5000 });
    const mark = c.received.length;
    c.evt.socket.resume();
    const sw = await c.next('switch_scene', mark);
    const before = c.received.slice(mark, c.received.indexOf(sw));
    // Only what had already been handed to the kernel (socket buffers) can precede it.
    expect(before.length).toBeLessThan(3000);
    expect(sw.payload.request_id).toBe('urgent');
  });

  it('raises a degraded alert when a critical message cannot be written within its deadline', async () => {
    const { server: s, dir } = await server();
    const alerts: string[] = [];
    s.on('alert', (a) => alerts.push(a.kind));
    const c = await readyClient(dir);
    // A reader that stops reading fills the socket buffers; the switch then waits in the critical lane.
    c.evt.socket.pause();
    // Large frames (50 KB each, 10 MB in all) so the kernel's socket buffers fill up too.
    for (let i = 0; i < 200; i++) {
      s.send(makeMessage('user_notice', { level: 'info', message: 'x'.repeat(50_000) }, 'low'));
    }
    const result = s.switchScene({
      requestId: 'stuck',
      scene: 'BRB',
      reason: 'auto_failover',
      deadlineMs: 60,
    });
    await waitFor(() => alerts.includes('critical_deadline_missed'), 2000, 'deadline alert');
    expect(await result).toMatchObject({ ok: false, error: { code: 'deadline_exceeded' } });
    expect(s.ready()).toBe(true);
  });

  it('resets a connection whose frame stays incomplete past the read timeout, and keeps serving', async () => {
    const { server: s, dir } = await server({ readTimeoutMs: 100 });
    const c = await readyClient(dir);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(100, 0);
    c.cmd.socket.write(Buffer.concat([header, Buffer.alloc(10)]));
    await waitFor(() => c.closed, 2000, 'reset');
    expect(s.ready()).toBe(false);
    await readyClient(dir);
    expect(s.ready()).toBe(true);
  });
});
