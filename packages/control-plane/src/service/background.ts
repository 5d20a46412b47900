/**
 * Work that outlives the request that started it (provisioning, deprovisioning). Tracked so that
 * shutdown and tests can wait for it; a failing task is reported, never an unhandled rejection.
 */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  run(task: () => Promise<void>): void {
    const p: Promise<void> = task()
      .catch((err) => this.onError(err))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when every task, including ones started meanwhile, has finished. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
