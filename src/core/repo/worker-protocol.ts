/**
 * Messages between the main thread and repository workers. Workers own the
 * CPU-heavy hot paths (read + chunk + hash + compress + encrypt on backup;
 * decrypt + decompress + verify + write on restore; verify on check) so the
 * main thread stays free to walk, schedule and talk to the backend.
 */
import type { PackedBlob } from './pack.js';

export interface WorkerInit {
  encryption: Uint8Array;
  mac: Uint8Array;
  chunkerSeed: Uint8Array;
  chunker: { minSize: number; avgSize: number; maxSize: number };
  compressionLevel: number;
  packSize: number;
  /** Format 2: seal and open with associated data (binding.ts). */
  bindKinds: boolean;
  /** SharedBlobSet buffer, for backup dedup across workers. */
  blobSet?: SharedArrayBuffer;
  /**
   * The backend takes packs as files (Backend.newPackFile): each pack is
   * written to the file its grant names as it fills ('packGrant' with a path)
   * and sent as 'packFile', instead of whole in a transferred buffer ('pack').
   */
  packFiles?: boolean;
  /**
   * Nice steps this worker takes below its process at start (thread-priority.ts): a backup's
   * workers yield to the walk. Never for a worker that may be kept for another pool.
   */
  niceSteps?: number;
}

export interface BackupFileJob {
  path: string;
  size: number;
}

export interface BackupFileResult {
  content: string[];
  /** Bytes actually read (may differ from the stat size if the file changed). */
  size: number;
  bytesNew: number;
  error?: string;
  /** The file's size changed while it was read; what was read is stored. */
  changed?: boolean;
}

export interface RestoreTarget {
  path: string;
  /** Offset of this blob inside the file. */
  offset: number;
  /** The file is exactly this one blob: create it, write it, set its metadata, close it. */
  whole?: { mode: number; mtimeMs: number; uid?: number; gid?: number };
}

/**
 * A restored file to re-read from disk and check against the snapshot: `blobs`
 * are its content in order (plaintext length and id), laid end to end from
 * offset 0, so together they cover the whole file.
 */
export interface ValidateFileJob {
  path: string;
  size: number;
  blobs: { length: number; id: string }[];
}

export interface RestoreBlobJob {
  id: string;
  /** Offset inside the transferred buffer. */
  at: number;
  length: number;
  rawLength: number;
  compressed: boolean;
  /** In a pack written before a format-1 repository was migrated (sealed without associated data). */
  legacy?: boolean;
  targets: RestoreTarget[];
  /**
   * Every target is a file a drill re-reads from disk after its last write and
   * hashes against the snapshot's blob ids (restore-validation.ts): the worker
   * skips its own hash of the plaintext against the id, which that re-read
   * repeats over the bytes as stored. The MAC is checked before anything is
   * written, as always. Never set by a plain restore.
   */
  idCheckedOnReRead?: boolean;
}

/**
 * Bytes of a pack the worker reads itself, from a local repository's file:
 * no copy through the main thread, and one read buffer per worker reused for
 * every pack instead of a fresh 16 MiB buffer each. `length` undefined: the
 * whole file.
 */
export interface PackFileSpan {
  path: string;
  offset: number;
  length?: number;
}

export type WorkerRequest =
  | { type: 'backup'; jobId: number; files: BackupFileJob[] }
  | { type: 'flush'; jobId: number }
  /** A kept worker's next repository (worker-pool.ts, keepIdleRepositoryWorker). */
  | { type: 'init'; init: WorkerInit }
  /** Answer to 'needBuffer': a saved pack's buffer, for this worker's next pack (see pack-buffer-budget.ts). */
  | { type: 'packSaved'; buffer: ArrayBuffer }
  /**
   * Answer to 'needBuffer': no buffer is free but the budget has room; the worker allocates one.
   * With packFiles: the worker may start its next pack, in the temp file `path` (not created yet).
   */
  | { type: 'packGrant'; path?: string }
  /**
   * `length`: the span is `data`'s first `length` bytes, a reused span buffer (span-buffers.ts) that
   * the worker sends back with its answer; without it, the span is all of `data`, which stays here.
   */
  | { type: 'restore'; jobId: number; pack: string; data: ArrayBuffer; length?: number; blobs: RestoreBlobJob[]; chown: boolean }
  /** `legacy`: see RestoreBlobJob. */
  | { type: 'verifyPack'; jobId: number; pack: string; data: ArrayBuffer; legacy?: boolean }
  | { type: 'restoreFile'; jobId: number; pack: string; file: PackFileSpan; blobs: RestoreBlobJob[]; chown: boolean }
  | { type: 'verifyPackFile'; jobId: number; pack: string; file: PackFileSpan; legacy?: boolean }
  /** Chunk and hash files without storing anything: a drill's check of restored files. */
  | { type: 'hash'; jobId: number; files: BackupFileJob[] }
  /** Re-read restored files and check every blob's bytes against its id: a drill's validation. */
  | { type: 'validateFiles'; jobId: number; files: ValidateFileJob[] };

export interface VerifyPackResult {
  pack: string;
  hashOk: boolean;
  headerError?: string;
  /** Bytes verified (the pack's size). */
  size?: number;
  blobs: { id: string; type: 'data' | 'tree'; offset: number; length: number; rawLength: number; compressed: boolean }[];
  damaged: { id: string; error: string }[];
}

export type WorkerResponse =
  /** A finished pack: the first `length` bytes of `data` (the whole pack buffer, transferred). */
  | { type: 'pack'; id: string; data: ArrayBuffer; length: number; blobs: PackedBlob[] }
  /** With packFiles: a finished pack, written and closed in the file its grant named (`size` bytes). */
  | { type: 'packFile'; id: string; path: string; size: number; blobs: PackedBlob[] }
  /** The worker is about to pack a blob and holds no pack buffer (or, with packFiles, no grant); it waits for 'packSaved' or 'packGrant'. */
  | { type: 'needBuffer' }
  | { type: 'progress'; bytes: number }
  | { type: 'backupDone'; jobId: number; results: BackupFileResult[] }
  | { type: 'flushed'; jobId: number }
  /** `data`: a 'restore' job's span buffer, given back (transferred) when the job had a `length`. */
  | { type: 'restoreDone'; jobId: number; written: number; failed: { path: string; error: string }[]; data?: ArrayBuffer }
  | { type: 'verifyDone'; jobId: number; result: VerifyPackResult }
  /** Per file of a 'validateFiles' job, in order: null when it matches, else what is wrong with it. */
  | { type: 'validateDone'; jobId: number; problems: (string | null)[] }
  /** A file job's read failed (e.g. the file went missing): the caller falls back to the backend, which reports it. */
  | { type: 'readFailed'; jobId: number; error: string }
  /** `packWrite`: writing a pack file failed (errno and path, so the main thread can say what, e.g. disk full). */
  | { type: 'fatal'; jobId?: number; error: string; packWrite?: { path: string; errno?: string } };
