/**
 * The main thread's side of the repository workers: one worker per core, jobs
 * sent to the least loaded one, finished packs handed to `onPack` (which saves
 * them); their buffers go back into a pool-wide budget (pack-buffer-budget.ts),
 * so workers never run far ahead of the backend nor hold more buffers than it allows.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { localFileOf, packFilesOf, type Backend, type PackFiles } from '../backends/backend.js';
import { mapFsError } from '../backends/local-backend.js';
import { reuseSpanBuffer, spanBufferOf } from '../backends/span-buffers.js';
import { LifeboatError } from '../errors.js';
import { packBufferCapacity, type FinishedPack, type WrittenPackFile } from './pack.js';
import { PackBufferBudget } from './pack-buffer-budget.js';
import { beforeWorkerIsolate, reapplyYoungGenerationCap } from './release-memory.js';
import { BACKUP_WORKER_NICE_STEPS } from './thread-priority.js';
import type { Repository } from './repository.js';
import type {
  BackupFileJob,
  BackupFileResult,
  PackFileSpan,
  RestoreBlobJob,
  ValidateFileJob,
  VerifyPackResult,
  WorkerInit,
  WorkerRequest,
  WorkerResponse,
} from './worker-protocol.js';

export interface PoolOptions {
  workers?: number;
  blobSet?: SharedArrayBuffer;
  /** Called for every pack a worker finishes; the worker waits for credit until it resolves. */
  onPack?: (pack: FinishedPack) => Promise<void>;
  /**
   * Where the repository's backend takes packs as files (Backend.newPackFile):
   * called instead of onPack for every pack a worker wrote to its file, which
   * it must save (Repository.savePackFile) or delete. Without it, or on
   * another backend, packs come to onPack.
   */
  onPackFile?: (pack: WrittenPackFile) => Promise<void>;
  onProgress?: (bytes: number) => void;
  /** Pack buffers the backup workers may hold in all (pack-buffer-budget.ts); default one more than the workers, at least the workers. */
  packBuffers?: number;
  /**
   * A backup's pool: its workers yield to the main thread, which walks the tree they are fed
   * from (thread-priority.ts). Not where a worker may be kept for a later pool
   * (keepIdleRepositoryWorker): a yielded thread cannot always take its priority back.
   */
  yieldToWalk?: boolean;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  load: number;
  /** Weight (backupWeight) of the backup jobs sent to this worker and not answered yet. */
  sent: number;
  /** Bytes the worker reported read ('progress') of the job it is on: its progress messages come before the job's answer, and it runs its jobs one at a time. */
  read: number;
  /** Takes this pool's listeners off the worker (a kept one goes on to the next pool without them). */
  detach(): void;
}

let sourceWorkerUrl: URL | undefined;

/**
 * Running from TypeScript sources (tests, tsx), a worker thread does not
 * inherit the parent's TypeScript loader, and registering one per worker costs
 * seconds. So the worker is bundled once per process with esbuild (a dev
 * dependency, ~0.2 s) next to node_modules, where its package imports resolve.
 */
function workerUrlForSources(here: string): URL {
  if (sourceWorkerUrl) return sourceWorkerUrl;
  const require = createRequire(here);
  const esbuild = require('esbuild') as typeof import('esbuild');
  const root = fileURLToPath(new URL('../../../', here));
  const built = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL('./repo-worker.ts', here))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    outfile: 'repo-worker.mjs',
    logLevel: 'error',
  });
  const code = built.outputFiles[0]!.contents;
  // Named by content: processes share one file, and nothing is left to clean up per process.
  const dir = join(root, 'node_modules', '.cache', 'lifeboat');
  const outfile = join(dir, `repo-worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(outfile)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${outfile}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, outfile);
  }
  sourceWorkerUrl = pathToFileURL(outfile);
  return sourceWorkerUrl;
}

/** Set by keepIdleRepositoryWorker: a closed pool leaves one idle worker for the next pool of this process. */
let keepIdle = false;
let idleWorker: { worker: Worker; detach(): void } | undefined;

/**
 * From now on this process keeps one idle repository worker between pools
 * (a fleet agent: src/agent/agent-host.ts). Starting a worker thread costs
 * ~50-80 ms of CPU (measured with one that does nothing at all: ~50), more
 * than a tiny backup's whole chunking; an agent runs hundreds of those. The
 * kept worker is given the next pool's repository (its 'init' message), and
 * only a worker whose pool saved all its packs and has no job in flight is
 * kept. What it costs: an idle thread and its buffers (~10 MiB of mostly
 * untouched address space) for the process's life.
 */
export function keepIdleRepositoryWorker(): void {
  keepIdle = true;
}

/** The thread id of the worker kept idle, if one is (for tests and diagnostics). */
export function idleRepositoryWorkerThread(): number | undefined {
  return idleWorker?.worker.threadId;
}

/** A pool's worker and when it is online (at once for a kept one); see WorkerPool.online. */
function spawnWorker(init: WorkerInit): { worker: Worker; online: Promise<void> } {
  const kept = idleWorker;
  idleWorker = undefined;
  kept?.detach();
  // threadId -1: the thread ended (its 'exit' not heard yet); a new one is started instead.
  if (kept && kept.worker.threadId !== -1) {
    kept.worker.ref();
    kept.worker.postMessage({ type: 'init', init } satisfies WorkerRequest);
    return { worker: kept.worker, online: Promise.resolve() };
  }
  const here = import.meta.url;
  // Bundled build: the worker is emitted next to the bundle that contains this module.
  const url = here.endsWith('.ts') ? workerUrlForSources(here) : new URL('./repo-worker.js', here);
  // execArgv: [] — a worker needs no loader flags of the parent (tsx would cost a second per worker).
  // The new isolate resets V8's young-generation growth factor (release-memory.ts, capYoungGeneration).
  beforeWorkerIsolate();
  const worker = new Worker(url, { workerData: init, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  worker.once('online', reapplyYoungGenerationCap);
  // Settles on 'online', or on the end of a worker that never got there (the pool reports that failure).
  const online = new Promise<void>((resolve) => {
    const settle = () => {
      worker.off('online', settle).off('error', settle).off('exit', settle);
      resolve();
    };
    worker.on('online', settle).on('error', settle).on('exit', settle);
  });
  return { worker, online };
}

/**
 * A worker's young generation, MiB (V8 makes each semi-space a third of it):
 * a worker's JS objects are few and short-lived (its big buffers are outside
 * the heap), and with V8's default (semi-spaces growing to 16 MiB) each worker
 * kept up to 32 MiB of pages it barely needs (issue 22, docs/performance.md).
 */
const WORKER_YOUNG_GENERATION_MB = 6;

/**
 * The file of a pack when the backend offers one (Backend.localFile: a local
 * folder, unwrapped), so workers can read it themselves (PackFileSpan);
 * undefined for any other backend or wrapper, whose packs the main thread
 * loads through `load`, so every wrapper sees the read.
 */
export function localPackPath(backend: Backend, pack: string): string | undefined {
  return localFileOf(backend, { kind: 'data', name: pack });
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending>();
  private readonly packSaves = new Set<Promise<void>>();
  private nextJob = 1;
  private failure?: Error;
  private closing = false;
  private closed?: Promise<void>;
  /** Backup jobs were sent since the last flush: a worker may hold an unfinished pack, so it is not kept. */
  private unflushed = false;
  /**
   * Pack buffers of this pool's backups: the backup's peak memory is mostly these.
   * With pack files (newPackFile), grants of a pack file each instead: a worker's
   * pack being written, or a written one being saved.
   */
  readonly packBuffers: PackBufferBudget;
  /** With pack files: the backend's (names of new ones, and their removal). */
  private readonly packFiles?: PackFiles;
  /** With pack files: the most bytes a pack can have (packBufferCapacity), which the backend may reserve per file. */
  private readonly packFileBytes: number;
  /** Pack files granted and not yet handed to onPackFile: deleted at close (a failed or cancelled backup's half-written packs). */
  private readonly grantedFiles = new Set<string>();
  /** Its workers yielded to the main thread (yieldToWalk): none of them is kept for another pool. */
  private readonly yielded: boolean;

  constructor(repo: Repository, private readonly options: PoolOptions = {}) {
    const init: WorkerInit = {
      encryption: repo.key.encryption,
      mac: repo.key.mac,
      chunkerSeed: repo.key.chunkerSeed,
      chunker: repo.config.chunker,
      compressionLevel: repo.config.compression.level,
      packSize: repo.config.packSize,
      bindKinds: repo.key.bindKinds,
      blobSet: options.blobSet,
      ...(options.yieldToWalk && !keepIdle ? { niceSteps: BACKUP_WORKER_NICE_STEPS } : {}),
    };
    this.yielded = init.niceSteps !== undefined;
    const count = options.workers ?? defaultWorkerCount();
    this.packFileBytes = packBufferCapacity(repo.config.packSize, repo.config.chunker.maxSize);
    // Room for a pack file per worker and one more: a worker waiting for a file then waits only for
    // saved packs to leave (a staging bound's uploads), never for another worker's half-written pack.
    const packFiles = options.onPackFile ? packFilesOf(repo.backend, (count + 1) * this.packFileBytes) : undefined;
    if (packFiles) {
      this.packFiles = packFiles;
      init.packFiles = true;
    }
    // One buffer filling per worker and one pack being saved keeps the workers busy while
    // the main thread writes; a second buffer per worker only added memory. Never fewer
    // than the workers: a worker waiting for a buffer must be able to get one from a save,
    // not only from another worker's half-filled pack (which may wait for a flush).
    // With pack files a grant costs no memory (the bytes wait in the page cache): several packs may
    // be saved (fsync, rename) while every worker writes its next one. 2 per worker + 2 left each worker
    // waiting ~70-130 ms per mixed first backup for saves; 4 per worker + 4, alternating quiet pairs:
    // first backup 3.83 / 3.76 -> 3.52 / 3.54 s, after-edit 1.29 / 1.37 -> 1.20 / 1.27 s, peak RSS the same.
    // The index still waits for every save, so the order packs -> index -> snapshot is unchanged.
    this.packBuffers = new PackBufferBudget(Math.max(options.packBuffers ?? (packFiles ? 4 * count + 4 : count + 1), count));
    const onlines: Promise<void>[] = [];
    this.slots = Array.from({ length: count }, () => {
      const { worker, online } = spawnWorker(init);
      onlines.push(online);
      const onMessage = (msg: WorkerResponse) => this.onMessage(slot, msg);
      const onError = (e: Error) => this.fail(new LifeboatError('INTERNAL', `repository worker crashed: ${e.message}`, { cause: e }));
      // A worker can end without an 'error' event (process.exit in it, terminated): its jobs would
      // never answer and the run would hang (test/core/repo/worker-crash.test.ts).
      const onExit = (code: number) => {
        if (!this.closing) this.fail(new LifeboatError('INTERNAL', `repository worker exited (code ${code}) with work unfinished`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      const slot: Slot = { worker, load: 0, sent: 0, read: 0, detach: () => void worker.off('message', onMessage).off('error', onError).off('exit', onExit) };
      return slot;
    });
    this.online = Promise.all(onlines).then(() => undefined);
  }

  /**
   * Every worker of the pool is online (or ended before it was). Until then a starting worker's
   * isolate may have put V8's young-generation growth factor back to 2 (release-memory.ts,
   * beforeWorkerIsolate), and a main thread that allocates fast meanwhile has its capped young
   * generation doubled, for the rest of the run: a caller about to do allocation-heavy work beside
   * the workers (a check's walk) waits for this first.
   */
  readonly online: Promise<void>;

  get size(): number {
    return this.slots.length;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** fail, for whatever a promise rejected with. */
  private failWith(e: unknown): void {
    this.fail(e instanceof Error ? e : new Error(String(e)));
  }

  /** A pack being saved: its buffer or grant goes back once saved; close waits for it (packSaves). */
  private trackSave(saving: Promise<void>, release: () => void): void {
    const save = saving
      .then(release)
      .catch((e: unknown) => this.failWith(e))
      .finally(() => this.packSaves.delete(save));
    this.packSaves.add(save);
  }

  private onMessage(slot: Slot, msg: WorkerResponse): void {
    switch (msg.type) {
      case 'pack': {
        const pack: FinishedPack = { id: msg.id, bytes: Buffer.from(msg.data, 0, msg.length), blobs: msg.blobs };
        this.trackSave((this.options.onPack ?? (() => Promise.resolve()))(pack), () => this.packBuffers.release(msg.data));
        return;
      }
      case 'packFile': {
        this.grantedFiles.delete(msg.path);
        const written: WrittenPackFile = { id: msg.id, path: msg.path, size: msg.size, blobs: msg.blobs };
        this.trackSave(this.options.onPackFile!(written), () => this.packBuffers.releaseGrant());
        return;
      }
      case 'needBuffer':
        void this.packBuffers.acquire().then(async (buffer) => {
          if (this.closing) return;
          if (buffer) slot.worker.postMessage({ type: 'packSaved', buffer } satisfies WorkerRequest, [buffer]);
          else if (this.packFiles) {
            // May wait for room (a staging bound counts the pack from now on).
            const path = await this.packFiles.newPackFile(this.packFileBytes).catch((e: unknown) => this.failWith(e));
            if (path === undefined) return;
            if (this.closing) {
              await this.packFiles.discardPackFile(path).catch(() => undefined);
              return;
            }
            this.grantedFiles.add(path);
            slot.worker.postMessage({ type: 'packGrant', path } satisfies WorkerRequest);
          } else slot.worker.postMessage({ type: 'packGrant' } satisfies WorkerRequest);
        });
        return;
      case 'progress':
        slot.read += msg.bytes;
        this.options.onProgress?.(msg.bytes);
        this.onBacklogDrop?.();
        return;
      case 'fatal':
        if (msg.packWrite) {
          // As a failed save: the same codes and message (disk full at …) as the backend's own write.
          const cause = Object.assign(new Error(msg.error), msg.packWrite.errno === undefined ? {} : { code: msg.packWrite.errno });
          this.fail(mapFsError(cause, 'save', msg.packWrite.path));
        } else this.fail(new LifeboatError('INTERNAL', `repository worker failed: ${msg.error}`));
        return;
      default: {
        const p = this.pending.get(msg.jobId);
        if (!p) return;
        this.pending.delete(msg.jobId);
        slot.load--;
        // Its 'progress' messages came before this answer, and its next job starts only after it.
        if (msg.type === 'backupDone') slot.read = 0;
        p.resolve(msg);
      }
    }
  }

  /**
   * The worker with the least backup work ahead of it (backlog), by weight, not
   * by job count: a 35 MB file and a batch of 128 small ones are one job each,
   * and the run ends when the last worker does (issue 22).
   */
  private lightest(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots) {
      const d = backlogOf(s) - backlogOf(best);
      if (d < 0 || (d === 0 && s.load < best.load)) best = s;
    }
    return best;
  }

  /** The smallest backlog of any worker (backupWeight units): the file scheduler sends the next batch when it is low. */
  get backupBacklog(): number {
    return Math.min(...this.slots.map(backlogOf));
  }

  /** Each worker's backlog, in worker order (for tests and diagnostics). */
  get backlogs(): number[] {
    return this.slots.map(backlogOf);
  }

  /** Called when a worker's backlog shrank (it read on, or answered a backup job). */
  onBacklogDrop?: () => void;

  private leastLoaded(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.load < best.load) best = s;
    return best;
  }

  /** In-flight jobs over all workers; callers use it to bound how far they run ahead. */
  get load(): number {
    return this.slots.reduce((n, s) => n + s.load, 0);
  }

  private request<T extends WorkerResponse>(slot: Slot, build: (jobId: number) => WorkerRequest, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const jobId = this.nextJob++;
    slot.load++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(jobId, { resolve: resolve as (v: unknown) => void, reject });
      slot.worker.postMessage(build(jobId), transfer ?? []);
    });
  }

  async backup(files: BackupFileJob[]): Promise<BackupFileResult[]> {
    this.unflushed = true;
    const slot = this.lightest();
    const weight = backupWeight(files);
    slot.sent += weight;
    try {
      const res = await this.request<Extract<WorkerResponse, { type: 'backupDone' }>>(slot, (jobId) => ({ type: 'backup', jobId, files }));
      return res.results;
    } finally {
      slot.sent -= weight;
      this.onBacklogDrop?.();
    }
  }

  /** Content ids of files, computed like a backup would, storing nothing. */
  async hash(files: BackupFileJob[]): Promise<BackupFileResult[]> {
    const res = await this.request<Extract<WorkerResponse, { type: 'backupDone' }>>(this.leastLoaded(), (jobId) => ({ type: 'hash', jobId, files }));
    return res.results;
  }

  /** Restored files re-read and checked against their blobs' ids: per file null, or what is wrong with it. */
  async validateFiles(files: ValidateFileJob[]): Promise<(string | null)[]> {
    const res = await this.request<Extract<WorkerResponse, { type: 'validateDone' }>>(this.leastLoaded(), (jobId) => ({ type: 'validateFiles', jobId, files }));
    return res.problems;
  }

  /** Close every worker's open pack and wait until all packs are saved. */
  async flush(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.request(slot, (jobId) => ({ type: 'flush', jobId }))));
    while (this.packSaves.size > 0) await Promise.all([...this.packSaves]);
    // The data is saved: what follows (trees, index, snapshot) needs no worker pack buffer.
    this.packBuffers.trim();
    if (this.failure) throw this.failure;
    this.unflushed = this.slots.some((s) => s.load > 0);
  }

  async restore(pack: string, data: Buffer, blobs: RestoreBlobJob[], chown: boolean): Promise<{ written: number; failed: { path: string; error: string }[] }> {
    // A reused span buffer (span-buffers.ts) goes whole, with the span's length, and comes back for the next span.
    const span = spanBufferOf(data);
    const ab = span ?? ownedArrayBuffer(data);
    const res = await this.request<Extract<WorkerResponse, { type: 'restoreDone' }>>(
      this.leastLoaded(),
      (jobId) => ({ type: 'restore', jobId, pack, data: ab, ...(span === undefined ? {} : { length: data.length }), blobs, chown }),
      [ab],
    );
    if (res.data !== undefined) reuseSpanBuffer(res.data);
    return { written: res.written, failed: res.failed };
  }

  async verifyPack(pack: string, data: Buffer, legacy?: boolean): Promise<VerifyPackResult> {
    const ab = ownedArrayBuffer(data);
    const res = await this.request<Extract<WorkerResponse, { type: 'verifyDone' }>>(
      this.leastLoaded(),
      (jobId) => ({ type: 'verifyPack', jobId, pack, data: ab, legacy }),
      [ab],
    );
    return res.result;
  }

  /** Like restore, the worker reading the span of a local pack file itself; undefined when that read failed. */
  async restoreFromFile(
    pack: string,
    file: PackFileSpan,
    blobs: RestoreBlobJob[],
    chown: boolean,
  ): Promise<{ written: number; failed: { path: string; error: string }[] } | undefined> {
    const res = await this.request<Extract<WorkerResponse, { type: 'restoreDone' | 'readFailed' }>>(this.leastLoaded(), (jobId) => ({
      type: 'restoreFile',
      jobId,
      pack,
      file,
      blobs,
      chown,
    }));
    return res.type === 'restoreDone' ? { written: res.written, failed: res.failed } : undefined;
  }

  /** Like verifyPack, the worker reading a local pack file itself; undefined when that read failed. */
  async verifyPackFile(pack: string, path: string, legacy?: boolean): Promise<VerifyPackResult | undefined> {
    const res = await this.request<Extract<WorkerResponse, { type: 'verifyDone' | 'readFailed' }>>(this.leastLoaded(), (jobId) => ({
      type: 'verifyPackFile',
      jobId,
      pack,
      file: { path, offset: 0 },
      legacy,
    }));
    return res.type === 'verifyDone' ? res.result : undefined;
  }

  /** Ends the workers (keeping one idle where keepIdleRepositoryWorker asked); a second call waits for the first. */
  close(): Promise<void> {
    this.closed ??= this.end();
    return this.closed;
  }

  private async end(): Promise<void> {
    this.closing = true;
    const kept = this.keepOne();
    await Promise.all(this.slots.filter((s) => s !== kept).map((s) => s.worker.terminate()));
    // Packs the workers had begun and never finished (a failed or cancelled backup): nothing will save them.
    const begun = [...this.grantedFiles];
    this.grantedFiles.clear();
    const packFiles = this.packFiles;
    if (packFiles) await Promise.all(begun.map((path) => packFiles.discardPackFile(path).catch(() => undefined)));
  }

  /** The slot whose worker stays for the next pool (keepIdleRepositoryWorker), if any may. */
  private keepOne(): Slot | undefined {
    if (!keepIdle || this.yielded || idleWorker !== undefined || this.failure || this.unflushed || this.pending.size > 0) return undefined;
    const slot = this.slots.find((s) => s.load === 0);
    if (!slot) return undefined;
    const worker = slot.worker;
    slot.detach();
    // Idle, it is nobody's: its end or a crash only drops it, and it never holds the process open.
    const onExit = () => {
      if (idleWorker?.worker === worker) idleWorker = undefined;
    };
    const onError = () => undefined;
    worker.on('exit', onExit).on('error', onError);
    worker.unref();
    idleWorker = { worker, detach: () => void worker.off('exit', onExit).off('error', onError) };
    return slot;
  }
}

/**
 * What a backup job weighs when balancing the workers: its bytes, plus for
 * each file what opening, reading and answering one costs a worker besides
 * its bytes, as bytes (~64 KiB: a small file costs a worker ~20-50 us, in
 * which it hashes ~64 KiB). A full batch of small files then weighs ~8 MiB.
 */
export function backupWeight(files: readonly BackupFileJob[]): number {
  let weight = 0;
  for (const f of files) weight += f.size + FILE_WEIGHT;
  return weight;
}

const FILE_WEIGHT = 64 * 1024;

/** Backup work a worker has not done yet: what it was sent less what it reported read of the job it is on. */
function backlogOf(slot: Slot): number {
  return Math.max(0, slot.sent - slot.read);
}

/** An ArrayBuffer holding exactly `data`, safe to transfer (never a slice of a shared pool). */
function ownedArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer)) {
    return data.buffer as ArrayBuffer;
  }
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy.buffer as ArrayBuffer;
}
