import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalRelayProvider } from '@telemy/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { running } from '../../../../test/support/procs.js';
import { type SrtPublisher, startFfmpegPublisher } from '../../../../test/support/srt.js';
import { linkTo, silent, startControlPlane, type TestControlPlane, tempHome } from './support/fixtures.js';

/**
 * The IRL chain without OBS: control plane (PGlite) with the `local` provider spawning a real
 * `telemy relay`, CloudLink following it to active and onto its telemetry, ffmpeg publishing to
 * the phone URL CloudLink shows, the stall pushed when ffmpeg dies, and stop removing the relay.
 */
const CP_PORT = 47920;
let home: string;
let cp: TestControlPlane;
let publisher: SrtPublisher | null = null;
let provider: LocalRelayProvider;

beforeAll(async () => {
  home = tempHome('cloudlink-local');
  provider = new LocalRelayProvider({
    log: silent,
    env: { ...process.env, TELEMY_HOME: home },
    // A relay process starting through tsx on a loaded 2-core machine can take tens of seconds.
    readyTimeoutMs: 100_000,
    agentOverrides: { healthIntervalMs: 500, stallAfterMs: 300, ingestLatencyMs: 20, statsEveryPackets: 20 },
  });
  cp = await startControlPlane({ provider, manifest: provider.defaultManifest, port: CP_PORT });
});

afterAll(async () => {
  await publisher?.stop();
  // A failed run must not leave a detached relay behind.
  for (const r of (await provider?.list()) ?? []) await provider.deprovision(r.instance_id, r.region);
  await cp?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('CloudLink with the local relay provider', () => {
  it('start → relay up → phone publishes → stall signalled → stop removes the relay', async () => {
    const { link, signals, kinds } = linkTo(cp);
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
      expect(running(pid)).toBe(true);

      await link.stopIrl();
      expect(kinds().at(-1)).toBe('session_ended');
      await expect.poll(() => running(pid), { timeout: 10_000 }).toBe(false);
    } finally {
      link.close();
    }
  }, 180_000);
});
