import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ControlPlaneApp,
  createApiKey,
  createControlPlane,
  createPgliteDb,
  createUser,
  type Db,
  hs256Config,
  LocalRelayProvider,
  migrate,
  seedManifest,
} from '@telemy/control-plane';
import { createLogger } from '@telemy/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SrtPublisher, startFfmpegPublisher } from '../../../../test/support/srt.js';
import { CloudLink } from '../../src/cloudlink/cloudlink.js';
import { ControlPlaneClient } from '../../src/cloudlink/control-plane-client.js';
import type { RelaySignal } from '../../src/cloudlink/relay-signals.js';

/**
 * The IRL chain without OBS: control plane (PGlite) with the `local` provider spawning a real
 * `telemy relay`, CloudLink following it to active and onto its telemetry, ffmpeg publishing to
 * the phone URL CloudLink shows, the stall pushed when ffmpeg dies, and stop removing the relay.
 */
const CP_PORT = 47920;
const silent = createLogger('test', { level: 'silent' });
let home: string;
let db: Db;
let app: ControlPlaneApp;
let apiKey: string;
let publisher: SrtPublisher | null = null;
let provider: LocalRelayProvider;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'telemy-cloudlink-local-'));
  process.env.TELEMY_HOME = home;
  db = await createPgliteDb();
  await migrate(db);
  provider = new LocalRelayProvider({
    log: silent,
    env: { ...process.env, TELEMY_HOME: home },
    // A relay process starting through tsx on a loaded 2-core machine can take tens of seconds.
    readyTimeoutMs: 100_000,
    agentOverrides: { healthIntervalMs: 500, stallAfterMs: 300, ingestLatencyMs: 20, statsEveryPackets: 20 },
  });
  await seedManifest(db, provider.defaultManifest, new Date());
  const user = await createUser(db, { email: 'local@example.test', plan: 'standard' }, new Date());
  apiKey = (await createApiKey(db, user.id, new Date())).apiKey;
  app = await createControlPlane({
    db,
    provider,
    jwt: hs256Config('y'.repeat(48)),
    publicUrl: `http://127.0.0.1:${CP_PORT}`,
    logger: silent,
  });
  await app.listen({ port: CP_PORT, host: '127.0.0.1' });
});

afterAll(async () => {
  await publisher?.stop();
  // A failed run must not leave a detached relay behind.
  for (const r of (await provider?.list()) ?? []) await provider.deprovision(r.instance_id, r.region);
  await app?.close();
  await db?.close();
  rmSync(home, { recursive: true, force: true });
});

function relayAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('CloudLink with the local relay provider', () => {
  it('start → relay up → phone publishes → stall signalled → stop removes the relay', async () => {
    const signals: RelaySignal[] = [];
    const kinds = () => signals.map((s) => s.kind);
    const link = new CloudLink({
      api: new ControlPlaneClient({
        baseUrl: `http://127.0.0.1:${CP_PORT}`,
        getSecret: () => apiKey,
        logger: silent,
      }),
      sink: { relaySignal: (s) => signals.push(s) },
      provisioningPollMs: 100,
      sessionPollMs: 1_000,
      logger: silent,
    });
    try {
      await link.init();
      expect(signals).toEqual([]);
      const started = await link.startIrl('dashboard');
      expect(started.status).toBe('provisioning');

      await expect.poll(kinds, { timeout: 110_000, interval: 100 }).toContain('telemetry_connected');
      const snap = link.snapshot();
      expect(snap.session).toMatchObject({ status: 'active', public_ip: '127.0.0.1' });
      const pairing = await link.revealPairing();
      expect(pairing).not.toBeNull();

      publisher = startFfmpegPublisher({ url: pairing!.srt_url, bitrateKbps: 1500 });
      await expect.poll(kinds, { timeout: 30_000 }).toContain('ingest_active');
      await expect
        .poll(() => link.snapshot().links.some((l) => l.bitrate_kbps > 300), { timeout: 10_000 })
        .toBe(true);

      await publisher.stop();
      publisher = null;
      await expect.poll(kinds, { timeout: 10_000 }).toContain('ingest_stalled');

      // The provider's registry of started relays holds the agent's pid.
      const relays = JSON.parse(readFileSync(join(home, 'relays', 'local-relays.json'), 'utf8')) as {
        pid: number;
      }[];
      expect(relays).toHaveLength(1);
      const pid = relays[0]!.pid;
      expect(relayAlive(pid)).toBe(true);

      await link.stopIrl();
      expect(kinds().at(-1)).toBe('session_ended');
      await expect.poll(() => relayAlive(pid), { timeout: 10_000 }).toBe(false);
    } finally {
      link.close();
    }
  }, 180_000);
});
