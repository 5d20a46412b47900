/**
 * Counts protocol errors in a sliding window (more than 5 within 10 s →
 * controlled reset). Pure: the caller passes the time.
 */
export class ProtocolErrorWindow {
  private times: number[] = [];

  constructor(
    private readonly limit = 5,
    private readonly windowMs = 10_000,
  ) {}

  /** Records one error; true when the count inside the window now exceeds the limit. */
  record(now: number): boolean {
    this.times = this.times.filter((t) => now - t < this.windowMs);
    this.times.push(now);
    return this.times.length > this.limit;
  }

  reset(): void {
    this.times = [];
  }
}
