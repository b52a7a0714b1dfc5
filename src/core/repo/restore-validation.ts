/**
 * A restore that proves what it wrote (a drill's validation): each file is
 * re-read from disk and every blob's bytes hashed against the snapshot's id
 * as soon as the file is complete, by the same workers, while other files
 * are still being restored. Before, a drill re-read and re-chunked the whole
 * tree after the restore, in a second pool: a second pass that cost more
 * than the restore's own decryption.
 *
 * The verdict is as strict as that pass: every byte of every restored file is
 * read back from the file system after its last write and must hash to the
 * snapshot's blob ids, in order, with the file's size.
 *
 * So the restore's workers do not also hash each blob's plaintext against
 * its id before writing it (RestoreBlobJob.idCheckedOnReRead): in a drill that
 * was every byte hashed twice, and the re-read's hash is the stronger of the
 * two, since it covers the bytes as stored rather than as meant. The verdict
 * stays as strict: every blob's MAC (AES-GCM tag; in format 2 over its id as
 * associated data) is still checked before its bytes are written, so a damaged
 * or altered pack fails the file in the restore, named with the blob, as
 * before. A blob whose tag verifies but whose plaintext is not its id's (a
 * writer's bug, someone holding the key, a format-1 blob sealed for another
 * id) is written, then its bytes fail the re-read: the file is reported with
 * the byte range and the blob. A file whose write failed is not re-read but
 * is a failure of the restore itself; any other file not re-read is a problem
 * of the drill (restore-drill.ts). A plain restore keeps the id check.
 */
import { workerBatch } from './file-scheduler.js';
import { mainThreadValidatedFiles } from './release-memory.js';
import type { PlannedFile } from './snapshot-plan.js';
import type { WorkerPool } from './worker-pool.js';
import type { ValidateFileJob } from './worker-protocol.js';

export interface ValidateOptions {
  /**
   * Awaited before a batch of complete files is re-read. A seam for tests, which
   * damage a file between its last write and its re-read to prove the re-read sees it.
   */
  beforeRead?: (paths: readonly string[]) => Promise<void>;
}

/**
 * A file the restore writes, counted down blob by blob until it is complete. Its path is made only
 * when it is re-read (RestoreValidator's `pathOf`), not kept: a check lives from the restore's prepare
 * until its last blob is written, and a path string each was ~11 MiB of the 50k-file tree drill's heap.
 */
export interface FileCheck {
  file: PlannedFile;
  /** The temporary name it is written to when it replaces what the target held (else its own path). */
  temp?: string;
  /** Blob writes still to come. */
  left: number;
  /** A write into it failed: the restore reports it, nothing is re-read. */
  failed: boolean;
}

export interface ValidationOutcome {
  /** Files re-read, whether they matched or not. */
  validated: number;
  /** Files whose bytes on disk are not the snapshot's (or could not be re-read). */
  invalid: { path: string; problem: string }[];
}

/**
 * Re-read batches out at once, per worker. The rest wait as their files' checks (kept by the restore
 * anyway) and become jobs (paths, blob lists, a message) only when sent: posted as soon as complete,
 * up to ~40 batches of 128 files were out at once in /usr/share's drill, each in the main heap and
 * serialized in the main thread's malloc heap until a worker took it.
 */
const BATCHES_PER_WORKER = 2;

export class RestoreValidator {
  private batch: FileCheck[] = [];
  private batchBytes = 0;
  /** Complete batches waiting for a turn (see BATCHES_PER_WORKER). */
  private readonly waiting: FileCheck[][] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private error: unknown;
  readonly outcome: ValidationOutcome = { validated: 0, invalid: [] };

  /** `pathOf`: where the restore writes a planned file (its `rel`), unless it goes to a temporary name. */
  constructor(
    private readonly pool: WorkerPool,
    private readonly pathOf: (rel: string) => string,
    private readonly options: ValidateOptions = {},
  ) {}

  /** The check of a file about to be restored: complete once each of its blobs is written (an empty file at once). */
  static checkFor(file: PlannedFile, temp: string | undefined): FileCheck {
    return temp === undefined ? { file, left: file.locs.length, failed: false } : { file, temp, left: file.locs.length, failed: false };
  }

  /** One blob of the file was written (or failed, `ok` false); re-read once the last one is. */
  blobDone(check: FileCheck, ok: boolean): void {
    if (!ok) check.failed = true;
    if (--check.left === 0) this.complete(check);
  }

  /** The file is complete (an empty file, or every blob written). */
  complete(check: FileCheck): void {
    if (check.failed) return;
    this.batch.push(check);
    this.batchBytes += check.file.node.size ?? 0;
    if (this.batch.length >= workerBatch.files || this.batchBytes >= workerBatch.bytes) this.cut();
  }

  /** Re-read what is still batched and wait for every answer. */
  async finish(): Promise<ValidationOutcome> {
    this.cut();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.error !== undefined) throw this.error;
    return this.outcome;
  }

  /** The batch being filled is complete: it waits for its turn. */
  private cut(): void {
    if (this.batch.length > 0) this.waiting.push(this.batch);
    this.batch = [];
    this.batchBytes = 0;
    this.sendWaiting();
  }

  private sendWaiting(): void {
    while (this.waiting.length > 0 && this.inFlight.size < this.pool.size * BATCHES_PER_WORKER) this.send(this.waiting.shift()!);
  }

  private jobOf(check: FileCheck): ValidateFileJob {
    const { file } = check;
    const blobs = (file.node.content ?? []).map((id, i) => ({ id, length: file.locs[i]?.rawLength ?? 0 }));
    return { path: check.temp ?? this.pathOf(file.rel), size: file.node.size ?? 0, blobs };
  }

  private send(checks: FileCheck[]): void {
    const files = checks.map((c) => this.jobOf(c));
    const job = (async () => {
      await this.options.beforeRead?.(files.map((f) => f.path));
      const problems = await this.pool.validateFiles(files);
      files.forEach((f, i) => {
        this.outcome.validated++;
        const problem = problems[i];
        if (problem != null) this.outcome.invalid.push({ path: f.path, problem });
      });
      mainThreadValidatedFiles(files.length);
    })()
      .catch((e: unknown) => {
        this.error ??= e;
      })
      .finally(() => {
        this.inFlight.delete(job);
        this.sendWaiting();
      });
    this.inFlight.add(job);
  }
}
