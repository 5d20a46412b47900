/**
 * Runs an async step now and then every `intervalMs`, never two at once: a step still running when
 * the next is due makes that one a no-op instead of queueing it, so a slow stats source cannot pile
 * up requests or reads.
 */
export class NonOverlappingInterval {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly step: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    void this.runOnce();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async runOnce(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.step();
    } finally {
      this.busy = false;
    }
  }
}
