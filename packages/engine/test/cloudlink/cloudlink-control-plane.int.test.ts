import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FakeRelayProvider } from '@telemy/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { ControlPlaneClient } from '../../src/cloudlink/control-plane-client.js';
import { RelayTelemetryClient } from '../../src/cloudlink/relay-telemetry.js';
import { Vault } from '../../src/vault/index.js';
import { linkTo, silent, startControlPlane, type TestControlPlane, tempHome } from './support/fixtures.js';

/**
 * CloudLink against the real control plane (in-process on in-memory PGlite, fake relay provider):
 * reconnect-first, start → provisioning → relay health → active → telemetry → stop, and a restart
 * mid-session that resumes without a second provisioning.
 */
let home: string;
let cp: TestControlPlane;
let provider: FakeRelayProvider;
let baseUrl: string;
let apiKey: string;
let relayWss: WebSocketServer;
let relayPort: number;
const relaySockets: WebSocket[] = [];
const relayAuth: (string | undefined)[] = [];
let expectedWsToken = '';

beforeAll(async () => {
  home = tempHome('cloudlink');
  provider = new FakeRelayProvider();
  cp = await startControlPlane({
    provider,
    manifest: [{ region: 'local', image_id: 'local', default_instance_type: 'process' }],
  });
  ({ baseUrl, apiKey } = cp);

  // Stands in for the relay's telemetry endpoint (the fake provider launches no relay).
  relayWss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    verifyClient: (info, cb) => {
      relayAuth.push(info.req.headers.authorization);
      if (info.req.headers.authorization === `Bearer ${expectedWsToken}`) cb(true);
      else cb(false, 401);
    },
  });
  relayWss.on('connection', (ws) => relaySockets.push(ws));
  await new Promise((r) => relayWss.once('listening', r));
  relayPort = (relayWss.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => relayWss.close(r));
  await cp.close();
  rmSync(home, { recursive: true, force: true });
});

function engine(restoredSessionId: string | null) {
  const telemetryUrls: string[] = [];
  const { link, signals, kinds } = linkTo(cp, {
    restoredSessionId,
    provisioningPollMs: 50,
    sessionPollMs: 200,
    createTelemetry: (url, token) => {
      telemetryUrls.push(url);
      return new RelayTelemetryClient({
        url: `ws://127.0.0.1:${relayPort}/telemetry`,
        token,
        logger: silent,
        reconnect: { baseMs: 20, maxMs: 100 },
      });
    },
  });
  return { link, signals, telemetryUrls, kinds };
}

// Only this test's home and config: no TELEMY_* settings leak in from the shell running the suite.
const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TELEMY_')));
const BIN = path.resolve(import.meta.dirname, '../../../cli/bin/telemy.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: { ...cliEnv, TELEMY_HOME: home },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function postHealth(sessionId: string): Promise<number> {
  const agent = provider.agentFor(sessionId);
  const instanceId = provider.instanceFor(sessionId);
  if (!agent || !instanceId) throw new Error('relay not provisioned yet');
  const res = await fetch(`${baseUrl}/api/v1/relay/health`, {
    method: 'POST',
    headers: { authorization: `Relay ${agent.relay_credential}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      session_id: sessionId,
      instance_id: instanceId,
      ingest_active: true,
      egress_active: true,
      session_uptime_seconds: 1,
      observed_at: new Date().toISOString(),
      links: [
        {
          link_id: 'l1',
          label: 'phone',
          source_ip: '127.0.0.1',
          protocol: 'srt',
          status: 'active',
          bitrate_kbps: 2500,
          rtt_ms: 20,
          packet_loss_pct: 0,
          jitter_ms: 1,
          connected_at: new Date().toISOString(),
        },
      ],
      bonded: { total_bitrate_kbps: 2500, active_link_count: 1, health: 'healthy' },
    }),
  });
  return res.status;
}

describe('CloudLink with the control plane', () => {
  it('runs the IRL session lifecycle end to end', async () => {
    const first = engine(null);
    await first.link.init();
    expect(first.signals).toEqual([]);
    expect(provider.provisioned).toHaveLength(0);

    const started = await first.link.startIrl('dashboard');
    expect(started.status).toBe('provisioning');
    expect(first.kinds()).toEqual(['session_accepted']);
    const sessionId = started.session_id;
    expectedWsToken = started.credentials?.relay_ws_token ?? '';
    expect(expectedWsToken).not.toBe('');

    await expect.poll(() => provider.agentFor(sessionId), { timeout: 10_000 }).toBeDefined();
    expect(await postHealth(sessionId)).toBe(204);

    await expect.poll(() => first.kinds(), { timeout: 10_000 }).toContain('telemetry_connected');
    expect(first.telemetryUrls[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/telemetry$/);
    expect(relayAuth.at(-1)).toBe(`Bearer ${expectedWsToken}`);
    const snap = first.link.snapshot();
    expect(snap.session).toMatchObject({ session_id: sessionId, status: 'active', public_ip: '127.0.0.1' });
    expect(JSON.stringify(snap)).not.toContain(expectedWsToken);
    const pairing = await first.link.revealPairing();
    expect(pairing?.srt_url).toMatch(/^srt:\/\/127\.0\.0\.1:\d+\?mode=caller&passphrase=/);
    expect(pairing?.qr_svg).toContain('<svg');

    relaySockets
      .at(-1)
      ?.send(
        JSON.stringify({ type: 'ingest', state: 'stalled', link_id: 'l1', at: new Date().toISOString() }),
      );
    await expect.poll(() => first.kinds(), { timeout: 5_000 }).toContain('ingest_stalled');

    // Engine restart mid-session: reconnect-first resumes the same session, no second relay.
    first.link.close();
    const second = engine(sessionId);
    await second.link.init();
    expect(second.signals[0]).toEqual({
      kind: 'session_accepted',
      session_id: sessionId,
      status: 'active',
      restored: true,
    });
    await expect.poll(() => second.kinds(), { timeout: 5_000 }).toContain('telemetry_connected');
    expect(provider.provisioned).toHaveLength(1);

    // A second start while the session runs returns it, never a new one.
    expect((await second.link.startIrl('cli')).session_id).toBe(sessionId);
    expect(provider.provisioned).toHaveLength(1);

    await second.link.stopIrl();
    expect(second.kinds().at(-1)).toBe('session_ended');
    expect(second.link.currentSessionId()).toBeNull();
    const check = new ControlPlaneClient({ baseUrl, getSecret: () => apiKey, logger: silent });
    expect(await check.active()).toBeNull();
    await expect.poll(() => provider.deprovisioned.length, { timeout: 10_000 }).toBe(1);
    expect((await check.usage()).consumed_seconds).toBeGreaterThanOrEqual(0);
    second.link.close();
  });

  it('telemy cloud start|active|stop drive the same lifecycle from the command line', async () => {
    const vault = await Vault.open(home);
    vault.set('cloud_api_key', apiKey);
    const provisionedBefore = provider.provisioned.length;

    // --wait keeps polling until the relay's first health report makes the session active.
    const starting = cli(['cloud', 'start', '--base-url', baseUrl, '--json', '--wait', '30']);
    await expect.poll(() => provider.provisioned.length, { timeout: 15_000 }).toBe(provisionedBefore + 1);
    const sessionId = provider.provisioned.at(-1)!.session_id;
    await expect.poll(() => provider.agentFor(sessionId), { timeout: 10_000 }).toBeDefined();
    expect(await postHealth(sessionId)).toBe(204);
    const start = await starting;
    expect(start.code, start.stderr).toBe(0);
    const session = JSON.parse(start.stdout) as { session_id: string; status: string; credentials?: unknown };
    expect(session).toMatchObject({ session_id: sessionId, status: 'active' });
    expect(session.credentials).toBeUndefined();

    const [masked, qrWithoutReveal] = await Promise.all([
      cli(['cloud', 'active', '--base-url', baseUrl]),
      cli(['cloud', 'active', '--base-url', baseUrl, '--qr']),
    ]);
    expect(qrWithoutReveal.code).toBe(2);
    expect(qrWithoutReveal.stderr).toContain('--reveal');
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).toContain(`session ${session.session_id} active`);
    expect(masked.stdout).toMatch(
      /phone SRT URL: srt:\/\/127\.0\.0\.1:\d+\?mode=caller&passphrase=\*\*\*\*&latency=/,
    );
    expect(masked.stdout).toMatch(/OBS source: +srt:\/\/127\.0\.0\.1:\d+\?mode=caller&passphrase=\*\*\*\*/);
    expect(masked.stdout).toMatch(
      /bonding \(SRTLA\): srtla:\/\/127\.0\.0\.1:\d+\?passphrase=\*\*\*\*&latency=/,
    );
    const agent = provider.agentFor(session.session_id)!;
    for (const secret of [agent.pair_token, agent.relay_ws_token, agent.egress_passphrase]) {
      expect(masked.stdout).not.toContain(secret);
    }

    const revealed = await cli(['cloud', 'active', '--base-url', baseUrl, '--reveal', '--qr']);
    expect(revealed.code, revealed.stderr).toBe(0);
    expect(revealed.stdout).toContain(`passphrase=${agent.pair_token}`);
    expect(revealed.stdout).toContain(`passphrase=${agent.egress_passphrase}`);
    expect(revealed.stdout).toMatch(
      new RegExp(`srtla://127\\.0\\.0\\.1:\\d+\\?passphrase=${agent.pair_token}&`),
    );
    expect(revealed.stdout).toMatch(/[▀▄█]{10}/);

    const stop = await cli(['cloud', 'stop', '--base-url', baseUrl]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`session ${session.session_id} stopped`);
    const check = new ControlPlaneClient({ baseUrl, getSecret: () => apiKey, logger: silent });
    expect(await check.active()).toBeNull();
    expect(provider.provisioned.length).toBe(provisionedBefore + 1);
  });

  it('rejects a wrong API key with the server error, without retries', async () => {
    const client = new ControlPlaneClient({
      baseUrl,
      getSecret: () => 'tmk_wrong_key_123456',
      logger: silent,
    });
    await expect(client.active()).rejects.toMatchObject({ kind: 'http', status: 401, code: 'unauthorized' });
  });
});
