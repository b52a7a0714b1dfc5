/**
 * A pool-wide budget of pack buffers for the backup workers (issue 22: peak
 * memory). A pack buffer is ~17 MiB; when each worker kept its own pair (one
 * filling, one being saved) two workers held four of them. With the budget
 * the buffers circulate: a saved pack's buffer goes to whichever worker needs
 * one next, and a worker that finds none free waits for a save instead of
 * allocating. At most `limit` buffers ever exist, which also bounds how many
 * finished packs can wait for the backend (workers never run far ahead).
 */
export class PackBufferBudget {
  private created = 0;
  private peak = 0;
  private readonly free: ArrayBuffer[] = [];
  private readonly waiters: ((buffer: ArrayBuffer | undefined) => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`pack buffer limit must be a whole number of at least 1, got ${limit}`);
  }

  /**
   * A buffer for the next pack: a free one, or undefined meaning "allocate a
   * new one" while fewer than `limit` exist; otherwise waits for a release.
   */
  acquire(): Promise<ArrayBuffer | undefined> {
    const buffer = this.free.pop();
    if (buffer) return Promise.resolve(buffer);
    if (this.created < this.limit) {
      this.created++;
      this.peak = Math.max(this.peak, this.created);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A buffer whose pack is saved: to the longest-waiting worker, else kept for the next one. */
  release(buffer: ArrayBuffer): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(buffer);
    else this.free.push(buffer);
  }

  /**
   * A grant whose pack is saved, where no buffer came back (pack files,
   * worker-pool.ts): the longest-waiting worker gets a grant, else the budget
   * has room for one more.
   */
  releaseGrant(): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(undefined);
    else this.created--;
  }

  /** Let go of the free buffers (the backup's data is flushed); later packs allocate again within the limit. */
  trim(): void {
    this.created -= this.free.length;
    this.free.length = 0;
  }

  /** Buffers that exist now (in workers, in flight or free). */
  get count(): number {
    return this.created;
  }

  /** The most buffers that existed at once. */
  get peakCount(): number {
    return this.peak;
  }

  /** Workers waiting for a buffer. */
  get waiting(): number {
    return this.waiters.length;
  }
}
