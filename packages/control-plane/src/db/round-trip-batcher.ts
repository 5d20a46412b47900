/**
 * Group commit for database round trips. Callers enqueue items and get a promise of their result;
 * at most one flush is in flight. Items that arrive meanwhile wait in the next batch, which is
 * flushed as soon as the in-flight one ends. There are no timers: under light load an item is
 * flushed at the end of the event-loop turn it arrived in, and under load one round trip serves
 * everything that queued up during the previous one.
 *
 * When nothing is in flight, the first item waits for the rest of its turn (`setImmediate`) so that
 * every request read in that turn goes with it. Flushing it at once split the closed loop of polling
 * clients into a flush of one request and a flush of all the others, which then alternated: the
 * process idled while the big one ran and the database idled while the process answered it (100
 * users polling on 100 connections, counted by hand: batches of 1, 1, 99, 1, 1, 99, …; the bench
 * reports the spread of batch sizes).
 *
 * An item never joins a flush that has already started, so a flush only ever runs after every write
 * that had completed before its items were enqueued (read-your-writes holds as without batching).
 */
export class RoundTripBatcher<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = false;
  private scheduled = false;

  /**
   * `flush` gets the items in arrival order and returns one result per item, in the same order.
   * If it throws (or returns the wrong number of results), every item of that batch is rejected.
   */
  constructor(private readonly flush: (items: readonly I[]) => Promise<readonly O[]>) {}

  enqueue(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.inFlight && !this.scheduled) {
        this.scheduled = true;
        // Until this runs no flush can start (none is in flight to end), so the item is still pending.
        setImmediate(() => {
          this.scheduled = false;
          this.startFlush();
        });
      }
    });
  }

  /** Items waiting for the next flush (not counting the one in flight). */
  get waiting(): number {
    return this.pending.length;
  }

  private startFlush(): void {
    const batch = this.pending;
    this.pending = [];
    this.inFlight = true;
    let run: Promise<readonly O[]>;
    try {
      run = this.flush(batch.map((b) => b.item));
    } catch (err) {
      run = Promise.reject(err);
    }
    run
      .then((results) => {
        if (results.length !== batch.length) {
          throw new Error(`a batch of ${batch.length} items got ${results.length} results`);
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
      })
      .catch((err: unknown) => {
        for (const b of batch) b.reject(err);
      })
      .finally(() => {
        this.inFlight = false;
        if (this.pending.length > 0) this.startFlush();
      });
  }
}
