import { createLogger } from '@telemy/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type SrtListener,
  type SrtPublisher,
  startFfmpegPublisher,
  startSrtListener,
} from '../../../test/support/srt.js';
import { SrtlaServer } from '../src/srtla/server.js';
import { freeUdpPort, waitFor } from './srt-peers.js';
import { startTestSrtlaSender, type TestSrtlaSender } from './srtla-sender.js';

/** Three local source addresses: on Linux the whole of 127.0.0.0/8 is loopback. */
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

describe('SRTLA receiver in front of a real SRT listener', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup.length = 0;
  });

  it('carries an ffmpeg SRT stream over three bonded links into srt-live-transmit', async () => {
    const listener: SrtListener = await startSrtListener({ port: await freeUdpPort() });
    cleanup.push(() => listener.stop());
    const server = new SrtlaServer({
      host: '127.0.0.1',
      port: 0,
      listener: { address: '127.0.0.1', port: listener.port },
      log: createLogger('srtla-test', { level: 'silent' }),
    });
    const srtlaPort = await server.listen();
    cleanup.push(() => server.close());
    const sender: TestSrtlaSender = await startTestSrtlaSender({
      sources: SOURCES,
      receiver: { host: '127.0.0.1', port: srtlaPort },
    });
    cleanup.push(() => sender.close());
    await waitFor(() => sender.links().every((l) => l.up), 5_000, 'every link registered');

    const ffmpeg: SrtPublisher = startFfmpegPublisher({
      url: `srt://127.0.0.1:${sender.port}`,
      bitrateKbps: 1_500,
    });
    cleanup.push(() => ffmpeg.stop());
    await listener.waitForBytes(500_000, 30_000);

    const links = sender.links();
    for (const l of links) {
      expect(l.srt, `${l.source} carried SRT`).toBeGreaterThan(50);
      expect(l.srtlaAcks, `${l.source} got SRTLA ACKs`).toBeGreaterThan(0);
    }
    const [group, ...others] = server.stats();
    expect(others).toEqual([]);
    expect(group?.connections.map((c) => c.address.address).sort()).toEqual(SOURCES);
    for (const c of group?.connections ?? []) {
      expect(c.dataPackets).toBeGreaterThan(50);
      // The listener's ACKs reach every link, which is what keeps each one up on the sender.
      expect(c.srtAcksRouted).toBeGreaterThan(0);
    }
  });
});
