/**
 * The Backend port: where a repository's files live (a local folder, S3, memory).
 * Backends know nothing of packs, keys or snapshots; they store named byte
 * strings under a few fixed kinds. Retry, rate limiting, fault injection and
 * logging are wrappers around this same interface, never code inside a backend.
 *
 * Contract (checked by test/core/backends/contract.ts against every backend):
 * - `save` is atomic: a concurrent or later `load`/`list`/`stat` sees either
 *   nothing or the complete object, never a prefix. When `save` resolves the
 *   object is durable (fsync'd, or confirmed by the store). Saving an existing
 *   name replaces it atomically.
 * - `load` returns exactly the requested range; a range past the end is an
 *   error (BACKEND_IO), not a short read.
 * - `load` never buffers more than it may return, whatever the store says or
 *   sends: a ranged load reads at most the range's length, and an unranged one
 *   refuses an object larger than `maxLoadBytes[kind]`. A store that announces
 *   or sends more (a wrong Content-Length, a body longer than announced) is a
 *   permanent BACKEND_IO naming the object and both sizes, raised as soon as
 *   the excess is seen. Local reads take the size from the open file and read
 *   exactly the range; the S3 backend checks Content-Length before reading the
 *   body and stops reading at the limit.
 * - A missing object is a LifeboatError with code BACKEND_NOT_FOUND (permanent).
 *   Permission or credential problems are BACKEND_PERMISSION (permanent).
 *   Network faults, timeouts and 5xx are BACKEND_UNAVAILABLE (retryable).
 * - `list` yields every object of a kind once, in no particular order.
 * - `remove` of a missing object resolves (idempotent).
 */
import type { FileBody } from './file-body.js';

export const fileKinds = ['config', 'keys', 'data', 'index', 'snapshots', 'locks'] as const;
export type FileKind = (typeof fileKinds)[number];

const MiB = 1024 * 1024;

/**
 * The largest object an unranged `load` of each kind accepts (see the
 * contract above): well above anything Lifeboat writes, far below what would
 * hurt a host, so a hostile or broken store cannot make a load allocate
 * without bound.
 * - config, keys, locks: small JSON documents (well under 4 KiB).
 * - index, snapshots: sealed JSON. V8 cannot hold a string longer than 2^29
 *   characters (512 MiB), so no index or snapshot larger than that can be
 *   written or parsed; sealing adds under a hundred bytes. Index files grow
 *   with the repository (prune writes one for every kept pack, about 50 bytes
 *   per blob), so this is their real ceiling, not a guess.
 * - data: packs are written at config.packSize (16 MiB by default; the
 *   repository config allows at most 128 MiB) plus one last chunk (at most
 *   64 MiB) and the header. 1 GiB leaves room for packs of older settings.
 */
export const maxLoadBytes: Readonly<Record<FileKind, number>> = {
  config: MiB,
  keys: MiB,
  locks: MiB,
  index: 513 * MiB,
  snapshots: 513 * MiB,
  data: 1024 * MiB,
};

export interface Handle {
  kind: FileKind;
  /** The object's name within its kind: hex ids, or "config". */
  name: string;
}

export interface ObjectInfo {
  name: string;
  size: number;
  /**
   * When the object was last written, where the store says (file mtime, S3
   * LastModified). Prune deletes a pack no index lists only once it is older
   * than a grace period: a younger one may belong to a backup still uploading.
   */
  modified?: Date;
}

export interface SaveOptions {
  /** Storage class hint for object stores (e.g. DEEP_ARCHIVE for cold data/). */
  storageClass?: string;
  /**
   * A data pack that holds only tree blobs (folder listings). Archive tiers keep
   * it in STANDARD, as they do index and snapshots, so that listing a snapshot's
   * files and planning a restore (which packs, how many bytes) need no thaw.
   */
  metadataPack?: boolean;
}

/**
 * Where an object stands in an archive storage class (S3 GLACIER, DEEP_ARCHIVE):
 * - `readable`: a class that needs no thaw (STANDARD, STANDARD_IA, GLACIER_IR…);
 * - `archived`: unreadable until a thaw is requested and done;
 * - `thawing`: a thaw was requested and is under way;
 * - `thawed`: a temporary readable copy exists until `expiresAt`.
 */
export type ArchiveStateName = 'readable' | 'archived' | 'thawing' | 'thawed';

export interface ArchiveState {
  storageClass?: string;
  state: ArchiveStateName;
  /** When a thawed copy goes away again (S3's expiry-date). */
  expiresAt?: Date;
}

/** How an archived object is thawed: S3 RestoreObject's Tier and Days. */
export interface ThawRequest {
  tier: 'Expedited' | 'Standard' | 'Bulk';
  days: number;
}

/** `requested`: a thaw started now (S3 202); `in-progress`: one was already under way (409); `already-thawed`: readable now (200). */
export type ThawRequestOutcome = 'requested' | 'in-progress' | 'already-thawed';

/**
 * The optional archive methods of the Backend port. Backends without archive
 * storage (local folders, memory) leave them out: their objects are always
 * readable. Wrappers pass them through (see archiveStateOf / requestThawOf).
 */
export interface ArchiveCapable {
  /** The object's archive state (S3: HeadObject's StorageClass and x-amz-restore). Makes no change. */
  archiveState?(handle: Handle): Promise<ArchiveState>;
  /** Asks for a temporary readable copy of an archived object (S3: RestoreObject). */
  requestThaw?(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome>;
}

export interface Backend extends ArchiveCapable {
  /** A human-readable location for messages (never contains credentials). */
  readonly location: string;
  save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void>;
  load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer>;
  stat(handle: Handle): Promise<ObjectInfo>;
  list(kind: FileKind): AsyncIterable<ObjectInfo>;
  remove(handle: Handle): Promise<void>;
  /** Create the container (folder, bucket) if missing. */
  create(): Promise<void>;
  /** Does the repository container exist and hold a config? */
  exists(): Promise<boolean>;
  close(): Promise<void>;
  /**
   * Optional, for stores with temp files of their own (local folders): delete
   * those a killed save left behind, once old enough that no live save can own
   * them. Returns how many went.
   */
  removeStaleTempFiles?(): Promise<number>;
  /**
   * Optional, for backends whose objects are plain local files: the file that
   * holds exactly the object's bytes, so a worker thread can read it itself
   * instead of being sent the bytes (see src/core/repo/worker-pool.ts). A
   * wrapper never passes it on: it exists to see or change calls (faults,
   * retries, limits, staging), and a reader that opened the file would go
   * around it unseen; without it, reads go through `load`. Such a backend is
   * also written directly, without staging (src/core/repo/open-repository.ts).
   */
  localFile?(handle: Handle): string;
  /**
   * Optional, with savePackFile and discardPackFile, for backends that keep
   * data packs (or their staged copies) as local files: the path of a new temp
   * file, on the file system of the packs and named so that a temp-file sweep
   * (removeStaleTempFiles) knows it, in which a pack of at most `maxBytes` may
   * be written before its name (its hash) is known. Nothing is created; the
   * caller creates the file (exclusively), writes the pack into it and closes
   * it, then hands it to savePackFile — or to discardPackFile. A backend with
   * a bound on what it holds (staging) reserves `maxBytes` here, and may wait
   * for room first. A backup's workers write their packs so as they fill,
   * holding only the bytes not yet written instead of a whole pack (issue 22).
   * Like localFile, a wrapper never passes it on: the file is written outside
   * any call a wrapper could see, so only a backend used as it is offers it
   * (see packFilesOf).
   */
  newPackFile?(maxBytes: number): Promise<string>;
  /**
   * Makes the file at `path` (from newPackFile, complete and closed, not yet
   * fsynced) the data object `handle`: the same contract as `save` (atomic,
   * durable when it resolves). The file is gone afterwards either way: it
   * became the object, or, on failure, it was removed.
   */
  savePackFile?(handle: Handle, path: string, options?: SaveOptions): Promise<void>;
  /** A file from newPackFile that will not be saved (a failed or cancelled backup): removed, its reservation given back. */
  discardPackFile?(path: string): Promise<void>;
  /**
   * With newPackFile: the bytes of pack files it reserves at most before a
   * newPackFile waits (staging's bound); no limit when absent. A caller that
   * keeps files open while it asks for another (a backup's workers, each with
   * a pack half written that only a later flush would end) must need less
   * than this, or it could wait for itself (see packFilesOf).
   */
  readonly packFileRoom?: number;
  /**
   * Optional: save an object whose bytes are a local file (staging's copy),
   * same contract as `save`. A backend that can send a file as it reads it
   * (S3 over https) then holds no copy of the object in memory; the others
   * are reached through `saveFileOf`, which reads the file for them. Wrappers
   * pass it on with `saveFileOf`.
   */
  saveFile?(handle: Handle, file: FileBody, options?: SaveOptions): Promise<void>;
  /**
   * Optional, for stores where a request costs more than the bytes between two
   * ranges (S3): several ranges of one object, ascending and not overlapping,
   * read in one request from the first's start to the last's end. Each range's
   * bytes go to `onRange` in a buffer of its own as soon as they have arrived,
   * in order; the bytes between ranges are read and dropped; nothing more is
   * read until `onRange` resolves, so the caller bounds what is held. Same
   * bounds and errors as `load`. A failure part-way throws, the ranges already
   * handed over stay handed over (a retry asks for the rest); an error thrown
   * by `onRange` ends the read and is thrown unchanged. Wrappers offer it only
   * where their inner backend does (see loadRangesOf).
   */
  loadRanges?(handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink): Promise<void>;
  /**
   * True where `save` and `saveFile` themselves confirm the size the store
   * kept before they resolve (S3Backend: HeadObject after every save), so a
   * caller that would stat the object to check it (staging) need not ask the
   * store a second time. Wrappers pass on their inner backend's answer.
   */
  readonly checksSavedSize?: boolean;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/** Receives range number `index` (of those asked for) of a loadRanges call. */
export type RangeSink = (index: number, bytes: Buffer) => Promise<void>;

/** The ranges in one request where the backend can (Backend.loadRanges), else one `load` each, in order. */
export async function loadRangesOf(backend: Backend, handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink): Promise<void> {
  if (backend.loadRanges) return backend.loadRanges(handle, ranges, onRange);
  return loadEachRange((range) => backend.load(handle, range), ranges, onRange);
}

/** One load per range, in order: loadRangesOf where a backend has no loadRanges. */
export async function loadEachRange(load: (range: ByteRange) => Promise<Buffer>, ranges: readonly ByteRange[], onRange: RangeSink): Promise<void> {
  for (let i = 0; i < ranges.length; i++) await onRange(i, await load(ranges[i]!));
}

/** Saves a file's bytes: streamed where the backend can (Backend.saveFile), else read whole and saved. */
export async function saveFileOf(backend: Backend, handle: Handle, file: FileBody, options?: SaveOptions): Promise<void> {
  if (backend.saveFile) return backend.saveFile(handle, file, options);
  return backend.save(handle, await file.bytes(), options);
}

/** Where packs may be written as files before they are saved (Backend.newPackFile), if the backend itself offers it. */
export interface PackFiles {
  newPackFile(maxBytes: number): Promise<string>;
  savePackFile(handle: Handle, path: string, options?: SaveOptions): Promise<void>;
  discardPackFile(path: string): Promise<void>;
}

/**
 * The backend's pack files (Backend.newPackFile), where it offers all three
 * calls and room (packFileRoom) for `upTo` bytes of them at once: a caller
 * that would hold more uses `save` instead.
 */
export function packFilesOf(backend: Backend, upTo = 0): PackFiles | undefined {
  const { newPackFile, savePackFile, discardPackFile, packFileRoom } = backend;
  if (!newPackFile || !savePackFile || !discardPackFile) return undefined;
  if (packFileRoom !== undefined && packFileRoom < upTo) return undefined;
  return {
    newPackFile: (maxBytes) => newPackFile.call(backend, maxBytes),
    savePackFile: (handle, path, options) => savePackFile.call(backend, handle, path, options),
    discardPackFile: (path) => discardPackFile.call(backend, path),
  };
}

/** Sweeps a backend's stale temp files where it has any (see Backend.removeStaleTempFiles). */
export async function removeStaleTempFilesOf(backend: Backend): Promise<number> {
  return backend.removeStaleTempFiles ? backend.removeStaleTempFiles() : 0;
}

/** The local file holding an object, where the backend itself offers one (see Backend.localFile). */
export function localFileOf(backend: Backend, handle: Handle): string | undefined {
  return backend.localFile?.(handle);
}

/**
 * Where an object lives inside the container. Data packs are fanned out by the
 * first two hex digits so no folder or prefix grows past a few thousand entries.
 */
export function objectPath(handle: Handle): string {
  if (handle.kind === 'config') return 'config';
  if (handle.kind === 'data') return `data/${handle.name.slice(0, 2)}/${handle.name}`;
  return `${handle.kind}/${handle.name}`;
}

/** The archive state of an object; a backend without archive storage holds only readable objects. */
export function archiveStateOf(backend: Backend, handle: Handle): Promise<ArchiveState> {
  return backend.archiveState ? backend.archiveState(handle) : Promise.resolve({ state: 'readable' });
}

/** Requests a thaw where the backend has archive storage; elsewhere everything is readable already. */
export function requestThawOf(backend: Backend, handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
  return backend.requestThaw ? backend.requestThaw(handle, request) : Promise.resolve('already-thawed');
}
