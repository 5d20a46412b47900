import { describe, expect, it } from 'vitest';
import {
  freeTcpPort,
  freeUdpPort,
  startFfmpegPublisher,
  startSrtListener,
} from '../../../../test/support/srt.js';

// The SRT helpers every later feed/relay test builds on: a listener that counts bytes and an
// ffmpeg "phone" publishing at a chosen bitrate.
describe('test/support/srt', () => {
  it('counts what an ffmpeg publisher sends at the chosen bitrate, and nothing after it is killed', async () => {
    const listener = await startSrtListener({ port: await freeUdpPort() });
    const phone = startFfmpegPublisher({ url: listener.url, bitrateKbps: 1500 });
    try {
      await listener.waitForBytes(100_000, 10_000);
      const a = listener.received();
      await new Promise((r) => setTimeout(r, 3_000));
      const b = listener.received();
      const kbps = ((b.bytes - a.bytes) * 8) / (b.at - a.at);
      // Video at 1500 kb/s plus AAC audio and MPEG-TS overhead.
      expect(kbps).toBeGreaterThan(1500 * 0.7);
      expect(kbps).toBeLessThan(1500 * 1.6);

      await phone.stop();
      await new Promise((r) => setTimeout(r, 500));
      const c = listener.received();
      await new Promise((r) => setTimeout(r, 1_000));
      expect(listener.received().bytes).toBe(c.bytes);
    } finally {
      await phone.stop();
      await listener.stop();
    }
  });

  it('free port helpers return bindable ports', async () => {
    const [t, u] = await Promise.all([freeTcpPort(), freeUdpPort()]);
    expect(t).toBeGreaterThan(1024);
    expect(u).toBeGreaterThan(1024);
    const l = await startSrtListener({ port: u });
    expect(l.url).toBe(`srt://127.0.0.1:${u}`);
    await l.stop();
  });
});
