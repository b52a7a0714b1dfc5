/**
 * A local copy of a remote repository's small, immutable metadata (config,
 * keys, index files, snapshots) in the state folder. It spares a round trip per
 * file on every run, and it lets a backup start while the remote is down: the
 * engine can plan and stage against the cached index and hand the upload to
 * staging (transfer-pending) instead of failing outright.
 * Data packs and locks pass straight through.
 */
import { isLifeboatError } from '../errors.js';
import { archiveStateOf, loadEachRange, loadRangesOf, requestThawOf, saveFileOf, type ArchiveState, type Backend, type ByteRange, type FileKind, type RangeSink, type Handle, type ObjectInfo, type SaveOptions, type ThawRequest, type ThawRequestOutcome } from './backend.js';
import type { FileBody } from './file-body.js';
import type { LocalBackend } from './local-backend.js';

const cachedKinds = new Set<FileKind>(['config', 'keys', 'index', 'snapshots']);

export class MetadataCache implements Backend {
  /** Only where the remote has it (Backend.loadRanges). Data packs, never cached, are what is read in ranges. */
  readonly loadRanges?: (handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink) => Promise<void>;

  constructor(
    readonly remote: Backend,
    readonly cache: LocalBackend,
  ) {
    if (remote.loadRanges) this.loadRanges = (handle, ranges, onRange) => 
      cachedKinds.has(handle.kind) ? loadEachRange((range) => this.load(handle, range), ranges, onRange) : loadRangesOf(remote, handle, ranges, onRange);
  }

  get location(): string {
    return this.remote.location;
  }

  get checksSavedSize(): boolean {
    return this.remote.checksSavedSize === true;
  }

  async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    await this.remote.save(handle, data, options);
    if (cachedKinds.has(handle.kind)) await this.cache.save(handle, data).catch(() => undefined);
  }

  /** Data packs stream through; a cached kind is read whole, since the cache keeps a copy. */
  async saveFile(handle: Handle, file: FileBody, options?: SaveOptions): Promise<void> {
    if (!cachedKinds.has(handle.kind)) return saveFileOf(this.remote, handle, file, options);
    return this.save(handle, await file.bytes(), options);
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    if (!cachedKinds.has(handle.kind)) return this.remote.load(handle, range);
    try {
      return await this.cache.load(handle, range);
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
    }
    const whole = await this.remote.load(handle);
    await this.cache.save(handle, whole).catch(() => undefined);
    return range ? whole.subarray(range.offset, range.offset + range.length) : whole;
  }

  stat(handle: Handle): Promise<ObjectInfo> {
    return this.remote.stat(handle);
  }

  /** The remote's word: only data packs are ever archived, and they are not cached. */
  archiveState(handle: Handle): Promise<ArchiveState> {
    return archiveStateOf(this.remote, handle);
  }

  requestThaw(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
    return requestThawOf(this.remote, handle, request);
  }

  /** The remote's listing (it is the truth); the cached one only when the remote is unreachable. */
  async *list(kind: FileKind): AsyncIterable<ObjectInfo> {
    if (!cachedKinds.has(kind)) {
      yield* this.remote.list(kind);
      return;
    }
    const items: ObjectInfo[] = [];
    try {
      for await (const info of this.remote.list(kind)) items.push(info);
    } catch (e) {
      if (!isLifeboatError(e) || !e.retryable) throw e;
      yield* this.cache.list(kind);
      return;
    }
    // Forget cached files the remote no longer has (forgotten snapshots, replaced indexes).
    const names = new Set(items.map((i) => i.name));
    for await (const info of this.cache.list(kind)) if (!names.has(info.name)) await this.cache.remove({ kind, name: info.name });
    yield* items;
  }

  async remove(handle: Handle): Promise<void> {
    await this.remote.remove(handle);
    if (cachedKinds.has(handle.kind)) await this.cache.remove(handle);
  }

  async create(): Promise<void> {
    await this.cache.create();
    await this.remote.create();
  }

  async exists(): Promise<boolean> {
    try {
      return await this.remote.exists();
    } catch (e) {
      if (isLifeboatError(e) && e.retryable) return this.cache.exists();
      throw e;
    }
  }

  close(): Promise<void> {
    return this.remote.close();
  }
}
