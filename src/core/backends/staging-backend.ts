/**
 * Staging between the engine and a remote backend (S3): every object is first
 * written durably to a local staging folder, then uploaded in the background;
 * it leaves staging only after the remote confirmed it. If the remote stays
 * down past the retry budget, `flush` fails with TRANSFER_PENDING and staging
 * is kept; a later run (or `lifeboat resume`) uploads it first.
 *
 * Order is what keeps the remote repository correct at every moment: data
 * packs upload in parallel, but an index waits for every pack staged before
 * it, and a snapshot for every index before it (a barrier per metadata object).
 * Staging is bounded (transfer.stagingLimit, see staging-limit.ts): `save`
 * waits, while the remote is reachable, until the object fits under
 * `maxStagedBytes` beside what is staged. An object bigger than the bound is
 * staged alone once staging is empty, so no pack is ever too big to go through.
 */
import { commandHint } from '../command-hint.js';
import { LifeboatError, describeError, isLifeboatError } from '../errors.js';
import { archiveStateOf, loadRangesOf, removeStaleTempFilesOf, requestThawOf, saveFileOf, type ArchiveState, type Backend, type ByteRange, type FileKind, type RangeSink, type Handle, type ObjectInfo, type SaveOptions, type ThawRequest, type ThawRequestOutcome } from './backend.js';
import { stat } from 'node:fs/promises';
import { openFileBody } from './file-body.js';
import { mapFsError, type LocalBackend } from './local-backend.js';

export interface StagingOptions {
  /** The runbook whose data this stages, so the hint names it (`lifeboat resume orders`). */
  runbook?: string;
  /** Uploads in flight at once (transfer.concurrency). */
  concurrency?: number;
  /** Staged bytes (written or being written) that `save` waits below; 1 GiB when absent. */
  maxStagedBytes?: number;
  /** Storage class for data uploads (the cold tier's class). */
  storageClass?: string;
  onUploaded?: (handle: Handle, bytes: number) => void;
  /**
   * Told the size of every chunk read from a staged pack for its upload
   * (file-body.ts): each is a new 256 KiB buffer, garbage once the socket has
   * it, that V8 frees only at a collection (see release-memory.ts,
   * mainThreadSentBytes).
   */
  onBodyRead?: (bytes: number) => void;
}

interface Item {
  handle: Handle;
  size: number;
  barrier: boolean;
  /** A tree-only pack (SaveOptions.metadataPack). Not kept across a crash: a leftover is uploaded in the data class, which costs a thaw round, not data. */
  metadataPack?: boolean;
  done?: Promise<void>;
}

/** What upload() sends: the bytes of one staged object, and how to let go of them. */
interface StagedBody {
  size: number;
  save(remote: Backend, options: SaveOptions | undefined): Promise<void>;
  close(): Promise<void>;
}

/** Upload order when resuming: data first, then what points at it. */
const kindOrder: FileKind[] = ['data', 'keys', 'config', 'index', 'snapshots'];

export class StagingBackend implements Backend {
  private readonly queue: Item[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Bytes in staging: queued, uploading, and reserved by saves still writing. */
  private stagedBytes = 0;
  private peakStagedBytes = 0;
  private down?: unknown;
  private stopped = false;
  private waiters: (() => void)[] = [];
  /** Pack files handed out by newPackFile and not yet saved or discarded, with the bytes reserved for each. */
  private readonly packFileReservations = new Map<string, number>();
  private readonly concurrency: number;
  readonly maxStagedBytes: number;
  uploadedObjects = 0;
  uploadedBytes = 0;
  /** Only where the remote has it (Backend.loadRanges). */
  readonly loadRanges?: (handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink) => Promise<void>;

  constructor(
    readonly remote: Backend,
    readonly staging: LocalBackend,
    private readonly options: StagingOptions = {},
  ) {
    if (remote.loadRanges) this.loadRanges = (handle, ranges, onRange) => this.loadRangesStagedFirst(handle, ranges, onRange);
    this.concurrency = options.concurrency ?? 4;
    this.maxStagedBytes = options.maxStagedBytes ?? 1024 * 1024 * 1024;
  }

  get location(): string {
    return this.remote.location;
  }

  /** Partial files of killed saves, in staging (often pack-sized) and in the remote if it has such files. */
  async removeStaleTempFiles(): Promise<number> {
    return (await this.staging.removeStaleTempFiles()) + (await removeStaleTempFilesOf(this.remote));
  }

  /** Objects staged by an earlier run and not uploaded yet; queued for upload. */
  async adoptLeftovers(): Promise<{ objects: number; bytes: number }> {
    await this.staging.create();
    let objects = 0;
    let bytes = 0;
    for (const kind of kindOrder) {
      const items: ObjectInfo[] = [];
      for await (const info of this.staging.list(kind)) items.push(info);
      for (const info of items.sort((a, b) => a.name.localeCompare(b.name))) {
        this.enqueue({ kind, name: info.name }, info.size);
        objects++;
        bytes += info.size;
      }
    }
    return { objects, bytes };
  }

  get pending(): { objects: number; bytes: number } {
    return { objects: this.queue.length + this.inFlight.size, bytes: this.stagedBytes };
  }

  /** The most bytes staging held at once since this backend was built (leftovers adopted included). */
  get stagedPeak(): number {
    return this.peakStagedBytes;
  }

  async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    if (handle.kind === 'locks') return this.remote.save(handle, data);
    // While uploads make progress, wait for room; once the remote is down (or the
    // transfer was cancelled) nothing would make room, and staging is where the data is safe.
    // Reserved before the write, so saves running side by side cannot all pass the check at once.
    await this.reserve(data.length);
    try {
      await this.staging.save(handle, data);
    } catch (e) {
      this.releaseStaged(data.length);
      throw e;
    }
    this.queue.push({ handle, size: data.length, barrier: handle.kind !== 'data', ...(options?.metadataPack === true ? { metadataPack: true } : {}) });
    this.pump();
  }

  /** Pack files reserve their room under the bound (newPackFile). */
  get packFileRoom(): number {
    return this.maxStagedBytes;
  }

  /**
   * Packs a backup's workers write into staging as they fill (Backend.newPackFile,
   * issue 22): the file's room (`maxBytes`) is reserved under the bound before a
   * byte is written, waiting for uploads as `save` does, so staging holds no
   * more than its bound with packs being written too.
   */
  async newPackFile(maxBytes: number): Promise<string> {
    await this.reserve(maxBytes);
    const path = await this.staging.newPackFile(maxBytes);
    this.packFileReservations.set(path, maxBytes);
    return path;
  }

  /** As `save`, from a pack written into newPackFile's file: durable in staging, then queued for upload. */
  async savePackFile(handle: Handle, path: string, options?: SaveOptions): Promise<void> {
    const reserved = this.packFileReservations.get(path);
    if (reserved === undefined) throw new LifeboatError('INTERNAL', `savePackFile: ${path} is not a pack file of this staging`);
    this.packFileReservations.delete(path);
    let size: number;
    try {
      size = (await stat(path)).size;
      await this.staging.savePackFile(handle, path);
    } catch (e) {
      await this.staging.discardPackFile(path).catch(() => undefined);
      this.releaseStaged(reserved);
      throw mapFsError(e, 'save', path);
    }
    // The reservation was the most a pack can be; from now on staging counts what it is.
    this.releaseStaged(reserved - size);
    this.queue.push({ handle, size, barrier: false, ...(options?.metadataPack === true ? { metadataPack: true } : {}) });
    this.pump();
  }

  async discardPackFile(path: string): Promise<void> {
    const reserved = this.packFileReservations.get(path);
    this.packFileReservations.delete(path);
    try {
      await this.staging.discardPackFile(path);
    } finally {
      if (reserved !== undefined) this.releaseStaged(reserved);
    }
  }

  private enqueue(handle: Handle, size: number): void {
    this.addStaged(size);
    this.queue.push({ handle, size, barrier: handle.kind !== 'data' });
    this.pump();
  }

  /**
   * Waits for room for `bytes` and takes it. The last check and the taking are
   * one synchronous step, so saves running side by side cannot all pass the
   * check at once.
   */
  private async reserve(bytes: number): Promise<void> {
    while (this.stagedBytes > 0 && this.stagedBytes + bytes > this.maxStagedBytes && this.down === undefined && !this.stopped) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.addStaged(bytes);
  }

  private addStaged(bytes: number): void {
    this.stagedBytes += bytes;
    if (this.stagedBytes > this.peakStagedBytes) this.peakStagedBytes = this.stagedBytes;
  }

  /** Bytes left staging (uploaded, vanished, or never written): saves waiting for room look again. */
  private releaseStaged(bytes: number): void {
    this.stagedBytes -= bytes;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    while (!this.stopped && this.down === undefined && this.queue.length > 0 && this.inFlight.size < this.concurrency) {
      const next = this.queue[0]!;
      // A metadata object goes only when everything before it is confirmed.
      if (next.barrier && this.inFlight.size > 0) return;
      this.queue.shift();
      const p = this.upload(next).finally(() => {
        this.inFlight.delete(p);
        this.pump();
      });
      this.inFlight.add(p);
      if (next.barrier) return;
    }
  }

  private async upload(item: Item): Promise<void> {
    let body: StagedBody;
    try {
      body = await this.stagedBody(item.handle);
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
      this.releaseStaged(item.size); // removed from staging meanwhile (prune): nothing to upload
      return;
    }
    try {
      await body.save(this.remote, uploadOptions(item, this.options.storageClass));
      // One size check per upload: a remote whose save checks the stored size itself (S3) is not asked twice.
      if (!this.remote.checksSavedSize) {
        const info = await this.remote.stat(item.handle);
        if (info.size !== body.size) {
          throw new LifeboatError('BACKEND_IO', `${this.remote.location}: ${item.handle.kind}/${item.handle.name} has ${info.size} bytes after upload, ${body.size} were sent`, { retryable: true });
        }
      }
      await body.close();
      await this.staging.remove(item.handle);
      this.releaseStaged(item.size);
      this.uploadedObjects++;
      this.uploadedBytes += item.size;
      this.options.onUploaded?.(item.handle, item.size);
    } catch (e) {
      // Past the retry wrapper's budget: stop uploading, keep everything staged.
      this.down ??= e;
      this.queue.unshift(item);
      // Saves waiting for room stop waiting now that the remote is down.
      this.wakeWaiters();
    } finally {
      await body.close().catch(() => undefined);
    }
  }

  /**
   * A staged object ready to send. Data packs are sent from their staged file
   * (file-body.ts): a remote that streams (S3 over https) then holds no copy
   * of a pack per upload in flight. Metadata is small and loaded whole.
   */
  private async stagedBody(handle: Handle): Promise<StagedBody> {
    if (handle.kind !== 'data') {
      const data = await this.staging.load(handle);
      return { size: data.length, save: (remote, options) => remote.save(handle, data, options), close: async () => undefined };
    }
    const path = this.staging.localFile(handle);
    let file: Awaited<ReturnType<typeof openFileBody>>;
    try {
      file = await openFileBody(path, this.options.onBodyRead);
    } catch (e) {
      throw mapFsError(e, 'load', path);
    }
    let closed = false;
    return {
      size: file.size,
      save: (remote, options) => saveFileOf(remote, handle, file, options),
      close: async () => {
        if (closed) return;
        closed = true;
        await file.close();
      },
    };
  }

  /** Wait until everything staged is uploaded, or throw TRANSFER_PENDING if the remote is down. */
  async flush(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) {
        // Stop starting uploads and do not wait for those under way: a half-sent object is
        // never visible, and its staged copy is only removed once the store confirmed it.
        this.stopped = true;
        this.wakeWaiters();
        throw new LifeboatError('CANCELLED', `transfer cancelled; ${this.pending.objects} object(s) stay in staging at ${this.staging.location} for the next run or ${commandHint('resume', this.options.runbook)}`);
      }
      this.pump();
      if (this.inFlight.size > 0) {
        await Promise.race([Promise.all([...this.inFlight]), abortPromise(signal)]);
        continue;
      }
      if (this.down !== undefined) {
        const { message } = describeError(this.down);
        throw new LifeboatError(
          'TRANSFER_PENDING',
          `${this.remote.location} is not reachable (${message}); ${this.pending.objects} object(s), ${this.stagedBytes} bytes are safe in staging at ${this.staging.location}; run ${commandHint('resume', this.options.runbook)} when it is back`,
          { retryable: true, cause: this.down, details: { pending: this.pending } },
        );
      }
      if (this.queue.length === 0) return;
    }
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    try {
      return await this.staging.load(handle, range);
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
    }
    return this.remote.load(handle, range);
  }

  /**
   * As load: from staging while the object is there (not uploaded yet), one
   * range at a time; the rest from the remote in one request once it is not
   * (uploaded and removed from staging meanwhile, or never staged).
   */
  private async loadRangesStagedFirst(handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink): Promise<void> {
    for (let i = 0; i < ranges.length; i++) {
      let bytes: Buffer;
      try {
        bytes = await this.staging.load(handle, ranges[i]);
      } catch (e) {
        if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
        const from = i;
        return loadRangesOf(this.remote, handle, ranges.slice(from), (j, b) => onRange(from + j, b));
      }
      await onRange(i, bytes);
    }
  }

  async stat(handle: Handle): Promise<ObjectInfo> {
    try {
      return await this.staging.stat(handle);
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
    }
    return this.remote.stat(handle);
  }

  /** A staged copy is local and readable; otherwise the remote decides. */
  async archiveState(handle: Handle): Promise<ArchiveState> {
    if (await this.isStaged(handle)) return { state: 'readable' };
    return archiveStateOf(this.remote, handle);
  }

  async requestThaw(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
    if (await this.isStaged(handle)) return 'already-thawed';
    return requestThawOf(this.remote, handle, request);
  }

  private async isStaged(handle: Handle): Promise<boolean> {
    try {
      await this.staging.stat(handle);
      return true;
    } catch (e) {
      if (isLifeboatError(e, 'BACKEND_NOT_FOUND')) return false;
      throw e;
    }
  }

  async *list(kind: FileKind): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    for await (const info of this.staging.list(kind)) {
      seen.add(info.name);
      yield info;
    }
    for await (const info of this.remote.list(kind)) if (!seen.has(info.name)) yield info;
  }

  /**
   * A delete is ordered after every upload staged before it: prune saves the
   * new index and then deletes the old ones, and the remote must never be
   * left without an index for packs it keeps (a crash in between would hide
   * them). Locks are not part of that order.
   */
  async remove(handle: Handle): Promise<void> {
    await this.staging.remove(handle);
    if (handle.kind !== 'locks' && (this.queue.length > 0 || this.inFlight.size > 0)) await this.flush();
    await this.remote.remove(handle);
  }

  create(): Promise<void> {
    return this.remote.create();
  }

  exists(): Promise<boolean> {
    return this.remote.exists();
  }

  async close(): Promise<void> {
    await this.remote.close();
  }
}

/** Resolves when `signal` aborts (never without one), so waits can be cut short. */
function abortPromise(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** The class a staged object is uploaded in: the tier's class for data packs, except tree-only packs (kept readable). */
function uploadOptions(item: Item, storageClass: string | undefined): SaveOptions | undefined {
  if (item.handle.kind !== 'data') return undefined;
  if (item.metadataPack) return { metadataPack: true };
  return storageClass ? { storageClass } : undefined;
}
