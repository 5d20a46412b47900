/**
 * The IRL chain run inside a network namespace whose only non-loopback address is a test address
 * (`cloudlink-relay-address.int.test.ts` creates it and runs this file there with `ip netns exec`):
 * control plane with the `local` provider on its defaults, CloudLink starting a session, ffmpeg
 * publishing to the phone URL the session advertises. Prints one JSON line with what it saw.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalRelayProvider } from '@telemy/control-plane';
import { LOCAL_RELAY_ENV } from '@telemy/protocol';
import { startFfmpegPublisher } from '../../../../../test/support/srt.js';
import { linkTo, silent, startControlPlane } from './fixtures.js';

const CP_PORT = 47_930;

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The command lines of this namespace's `srt-live-transmit` processes (the relay's children). */
function srtCommandLines(): string[] {
  // `/proc` shows the whole machine: other processes' namespaces are not ours.
  const ours = fs.readlinkSync('/proc/self/ns/net');
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        if (fs.readlinkSync(`/proc/${p}/ns/net`) !== ours) return [];
        const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv.some((a) => a.endsWith('srt-live-transmit')) ? [argv.join(' ')] : [];
      } catch {
        return [];
      }
    });
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-netns-irl-'));
  // The provider's own defaults: no bind or public host handed down.
  const { [LOCAL_RELAY_ENV.bindHost]: _b, [LOCAL_RELAY_ENV.publicHost]: _p, ...env } = process.env;
  process.env = { ...env, TELEMY_HOME: home };
  const provider = new LocalRelayProvider({
    log: silent,
    env: process.env,
    readyTimeoutMs: 100_000,
    agentOverrides: { healthIntervalMs: 500, ingestLatencyMs: 20, statsEveryPackets: 20 },
  });
  const cp = await startControlPlane({ provider, manifest: provider.defaultManifest, port: CP_PORT });
  const { link, seen } = linkTo(cp);
  const publisher: { stop(): Promise<void> }[] = [];
  try {
    await link.init();
    await link.startIrl('dashboard');
    await until('the relay telemetry', () => seen('telemetry_connected'), 110_000);
    const session = link.snapshot().session;
    const pairing = await link.revealPairing();
    if (!pairing) throw new Error('no pairing details');
    publisher.push(startFfmpegPublisher({ url: pairing.srt_url, bitrateKbps: 800 }));
    await until('the phone feed at the relay', () => seen('ingest_active'), 30_000);
    const commandLines = srtCommandLines();
    const relays = await provider.list();
    process.stdout.write(
      `${JSON.stringify({
        public_ip: session?.public_ip ?? null,
        srt_url: pairing.srt_url,
        obs_source_url: pairing.obs_source_url,
        ingest_active: true,
        relay_count: relays.length,
        srt_command_lines: commandLines,
      })}\n`,
    );
    await link.stopIrl();
  } finally {
    for (const p of publisher) await p.stop();
    link.close();
    for (const r of await provider.list()) await provider.deprovision(r.instance_id, r.region);
    await cp.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
