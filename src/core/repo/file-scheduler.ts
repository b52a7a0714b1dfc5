/**
 * Batches files for the backup workers: small files travel in batches (one
 * message per ~100 files instead of per file), large ones alone, and the
 * walker is held back when too much is queued so memory does not grow with
 * the number of files. A batch goes to a worker only when one has little
 * work left (WORKER_AHEAD), to the one with the least: which worker a file
 * goes to is decided as late as possible, so the last large files do not
 * pile up on one worker while the other idles (issue 22).
 */
import type { WorkerPool } from './worker-pool.js';
import type { BackupFileJob, BackupFileResult } from './worker-protocol.js';

/**
 * How many files one message to a worker carries: up to 128 files or 8 MiB,
 * whichever comes first (a larger file goes alone). Per-message overhead is
 * paid once per batch, and a batch is small enough that two workers share a
 * directory's files evenly. Backups (FileScheduler) and drill validation
 * (src/core/drill/restore-drill.ts) batch by the same rule.
 */
export const workerBatch = { files: 128, bytes: 8 * 1024 * 1024 } as const;

/** `items` cut into worker batches (see workerBatch), in order. */
export function inWorkerBatches<T>(items: Iterable<T>, sizeOf: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    batch.push(item);
    bytes += sizeOf(item);
    if (batch.length >= workerBatch.files || bytes >= workerBatch.bytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * How far the walk may run ahead of the workers. Each queued file holds its
 * stat, node and promise on the main thread's heap; 1,024 (8 batches, twice
 * what two workers have in hand) keeps them fed, and 4,096 cost ~15 MB of
 * peak RSS on the bench's first backup for no speed.
 */
const MAX_QUEUED_FILES = 1024;

/**
 * How much work (WorkerPool backupWeight: bytes plus ~64 KiB per file) a
 * worker is sent ahead: the next batch goes out once some worker has less
 * than this left, so it never waits for the main thread, and no more is
 * committed to a worker than it needs to stay busy (~40-80 ms of reading).
 */
const WORKER_AHEAD = 16 * 1024 * 1024;

interface Queued {
  job: BackupFileJob;
  resolve: (r: BackupFileResult) => void;
  reject: (e: Error) => void;
}

export class FileScheduler {
  private batch: Queued[] = [];
  /** Whole batches waiting for a worker with room (WORKER_AHEAD), in walk order. */
  private ready: Queued[][] = [];
  private batchBytes = 0;
  private queued = 0;
  private flushScheduled = false;
  private roomWaiters: (() => void)[] = [];
  private aborted?: Error;

  constructor(private readonly pool: WorkerPool) {
    pool.onBacklogDrop = () => this.pump();
  }

  /** Back up one file; resolves with its content ids when a worker is done with it. */
  submit(job: BackupFileJob): Promise<BackupFileResult> {
    if (this.aborted) return Promise.reject(this.aborted);
    return new Promise((resolve, reject) => {
      this.batch.push({ job, resolve, reject });
      this.batchBytes += job.size;
      this.queued++;
      if (this.batch.length >= workerBatch.files || this.batchBytes >= workerBatch.bytes) this.dispatch();
      else this.scheduleFlush();
    });
  }

  /** Reject everything queued and anything submitted later (cancellation); batches already in a worker finish. */
  abort(error: Error): void {
    this.aborted = error;
    const batch = [...this.ready.flat(), ...this.batch];
    this.ready = [];
    this.batch = [];
    this.batchBytes = 0;
    for (const q of batch) q.reject(error);
    this.done(batch.length);
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Files submitted and not yet answered (queued here or in a worker). */
  get pending(): number {
    return this.queued;
  }

  /** Resolves when fewer than MAX_QUEUED_FILES files wait; call before queueing a directory. */
  waitForRoom(): Promise<void> {
    if (this.queued < MAX_QUEUED_FILES) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // A partial batch goes out only when a worker would otherwise idle.
      if (this.batch.length > 0 && this.ready.length === 0 && this.pool.load < this.pool.size * 2) this.dispatch();
    });
  }

  private dispatch(): void {
    this.ready.push(this.batch);
    this.batch = [];
    this.batchBytes = 0;
    this.pump();
  }

  /** Sends waiting batches while some worker has less than WORKER_AHEAD of work left. */
  private pump(): void {
    while (this.ready.length > 0 && this.pool.backupBacklog < WORKER_AHEAD) this.send(this.ready.shift()!);
  }

  private send(batch: Queued[]): void {
    this.pool.backup(batch.map((q) => q.job)).then(
      (results) => {
        batch.forEach((q, i) => q.resolve(results[i]!));
        this.done(batch.length);
      },
      (e: Error) => {
        for (const q of batch) q.reject(e);
        this.done(batch.length);
      },
    );
  }

  private done(count: number): void {
    this.queued -= count;
    if (this.batch.length > 0) this.scheduleFlush();
    while (this.queued < MAX_QUEUED_FILES && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
  }
}
