/**
 * Per-link measurements taken on the loopback hop: exact byte counts for the bitrate and an
 * RFC 3550-style smoothed inter-arrival jitter (the deviation between consecutive packet gaps).
 */
export class LinkMeter {
  private bytesSinceSample = 0;
  private lastSampleAt: number;
  private lastArrival: number | null = null;
  private lastGap: number | null = null;
  private jitter = 0;
  bytesTotal = 0;
  packetsTotal = 0;
  lastPacketAt: number | null = null;
  bitrateKbps = 0;

  constructor(now: number) {
    this.lastSampleAt = now;
  }

  packet(bytes: number, now: number): void {
    this.bytesSinceSample += bytes;
    this.bytesTotal += bytes;
    this.packetsTotal += 1;
    this.lastPacketAt = now;
    if (this.lastArrival !== null) {
      const gap = now - this.lastArrival;
      if (this.lastGap !== null) this.jitter += (Math.abs(gap - this.lastGap) - this.jitter) / 16;
      this.lastGap = gap;
    }
    this.lastArrival = now;
  }

  /** Closes a measurement window: bitrate over the bytes since the previous sample. */
  sample(now: number): number {
    const elapsed = now - this.lastSampleAt;
    if (elapsed > 0) this.bitrateKbps = (this.bytesSinceSample * 8) / elapsed;
    this.bytesSinceSample = 0;
    this.lastSampleAt = now;
    return this.bitrateKbps;
  }

  /** A stall ends the current burst: the next packet's gap says nothing about jitter. */
  resetArrivals(): void {
    this.lastArrival = null;
    this.lastGap = null;
  }

  get jitterMs(): number | null {
    return this.packetsTotal > 2 ? this.jitter : null;
  }
}
