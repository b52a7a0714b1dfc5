/**
 * Entry point of a repository worker thread (see worker-protocol.ts). Runs
 * synchronously job by job; the only await is the pack credit that keeps a
 * slow backend from letting finished packs pile up in memory.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBlobSet } from './blob-set.js';
import { releaseAfterJob, releasedLargeBuffer, restoredBlob } from './release-memory.js';
import { yieldThisThread } from './thread-priority.js';
import { Chunker } from './chunker.js';
import { DecompressScratch } from './compress.js';
import type { RepoKeys } from './binding.js';
import { blobIdOf } from './crypto.js';
import { PackBuilder, openBlob, packBufferCapacity, parsePackHeader } from './pack.js';
import { verifyPackBytes } from './verify-pack.js';
import { writeAllInPieces } from './write-in-pieces.js';
import type { BackupFileJob, BackupFileResult, PackFileSpan, RestoreBlobJob, ValidateFileJob, VerifyPackResult, WorkerInit, WorkerRequest, WorkerResponse } from './worker-protocol.js';

const port = parentPort!;
/** Read size: small enough that the read buffer stays near one max chunk. */
const READ_SIZE = 2 * 1024 * 1024;

// Everything made from the repository this worker serves: set by setUp, from workerData at start and again
// from an 'init' message when a kept worker (worker-pool.ts, keepIdleRepositoryWorker) goes to the next pool.
let init: WorkerInit;
let key: RepoKeys;
let chunker: Chunker;
let blobSet: SharedBlobSet | undefined;
let packCapacity: number;
let packer: PackBuilder;
/** In the chunker's WebAssembly memory, so it cuts what was read where it lies (chunker.ts). */
let readBuffer: Buffer;
/** Verify and restore use a blob's plaintext only until the next blob. */
let scratch: DecompressScratch;
/**
 * Pack bytes read by this worker (PackFileSpan), reused for every span.
 * Allocated at start, before any big buffer was freed, so glibc maps it on
 * its own instead of carving it from the thread's arena; a worker that never
 * reads packs never touches its pages, which then cost no memory.
 */
let fileBuffer: Buffer;
/**
 * Bytes held before asking the chunker for a boundary: twice the average chunk
 * finds one ~98% of the time (chunker.ts: past the average a boundary comes
 * every avg/16 bytes on average); for the rest the worker reads on up to a
 * max-size chunk. Holding only this much keeps the bytes moved to the front
 * of the read buffer small (a max-size window moved ~8 MiB per chunk).
 */
let LOOKAHEAD: number;
/** Set while this worker waits for the main thread to answer 'needBuffer'. */
let bufferWaiter: ((answer: { buffer?: ArrayBuffer; path?: string }) => void) | undefined;
/**
 * With init.packFiles: the temp file of this worker's current pack (named by
 * its grant), and its descriptor once the first bytes are written.
 */
let packPath: string | undefined;
let packFd: number | undefined;
/**
 * With init.packFiles, a pack's bytes are written to its file once this many
 * are held: the pack buffer then holds at most this plus one blob, not a whole
 * pack (issue 22), in writes large enough to cost little (~900 for 900 MB).
 */
const PACK_WRITE_AT = 1024 * 1024;
/** Bytes read and not yet reported to the main thread: one 'progress' message per 16 MiB or per job, not per file. */
let unreportedBytes = 0;

/**
 * Takes on a repository: everything made from a previous one is replaced (its
 * key, blob set, chunker and buffers are no longer reachable from here). A kept
 * worker is sent the next one only once its pool flushed its packs and had no
 * job left (worker-pool.ts).
 */
function setUp(next: WorkerInit): void {
  init = next;
  key = { encryption: Buffer.from(next.encryption), mac: Buffer.from(next.mac), chunkerSeed: Buffer.from(next.chunkerSeed), bindKinds: next.bindKinds };
  chunker = new Chunker(key.chunkerSeed, next.chunker);
  blobSet = next.blobSet ? new SharedBlobSet(next.blobSet) : undefined;
  packCapacity = packBufferCapacity(next.packSize, next.chunker.maxSize);
  packer = new PackBuilder(key, next.compressionLevel, packCapacity, { fullSize: true });
  if (packFd !== undefined) closeSync(packFd);
  packFd = undefined;
  packPath = undefined;
  // Allocated now, before any big buffer was freed, so glibc maps it on its own; only the pages
  // written ever become resident, which with pack files is the first PACK_WRITE_AT + one blob.
  if (next.packFiles) packer.provide(Buffer.allocUnsafeSlow(packCapacity));
  readBuffer = chunker.allocate(next.chunker.maxSize + READ_SIZE);
  scratch = new DecompressScratch(next.chunker.maxSize);
  fileBuffer = Buffer.allocUnsafeSlow(packCapacity);
  LOOKAHEAD = Math.min(next.chunker.maxSize, 2 * next.chunker.avgSize);
  bufferWaiter = undefined;
  unreportedBytes = 0;
}
setUp(workerData as WorkerInit);
// Once, at start: a worker asked to yield is never handed to another pool (worker-pool.ts).
yieldThisThread((workerData as WorkerInit).niceSteps ?? 0);

/** fileBuffer, at least `length` bytes long (only the pages written become resident). */
function fileBufferOf(length: number): Buffer {
  if (fileBuffer.length < length) {
    // Room for a whole pack at once (see DecompressScratch on growing step by step).
    fileBuffer = Buffer.alloc(0); // let the old one go before the new one is allocated
    fileBuffer = Buffer.allocUnsafeSlow(Math.max(length, packCapacity));
  }
  return fileBuffer;
}

/** Reads up to `length` bytes of `fd` at `position` into `into` (from its start): fewer only where the file ends. */
function readUpTo(fd: number, into: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** `length` bytes of `fd` at `position` into `into` (from its start); throws if the file ends first. */
function readFully(fd: number, into: Buffer, length: number, position: number, path: string): Buffer {
  const done = readUpTo(fd, into, length, position);
  if (done < length) throw new Error(`${path} ended at byte ${position + done}, expected ${position + length}`);
  return into.subarray(0, length);
}

/** Read a span of a local pack file into fileBuffer; the view is valid until the next call. */
function readSpan(span: PackFileSpan): Buffer {
  const fd = openSync(span.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const length = span.length ?? fstatSync(fd).size - span.offset;
    return readFully(fd, fileBufferOf(length), length, span.offset, span.path);
  } finally {
    closeSync(fd);
  }
}

function send(msg: WorkerResponse, transfer?: ArrayBuffer[]): void {
  port.postMessage(msg, transfer);
}

async function emitPackIfFull(force: boolean): Promise<void> {
  if (!force && packer.byteSize < init.packSize) return;
  if (init.packFiles) {
    emitPackFile();
    return;
  }
  const pack = packer.finish();
  if (!pack) return;
  const data = pack.bytes.buffer as ArrayBuffer;
  send({ type: 'pack', id: pack.id, data, length: pack.bytes.length, blobs: pack.blobs }, [data]);
}

/** A failed write of a pack file: fatal for the backup (blobs of earlier files are in that pack), never a file error. */
class PackWriteError extends Error {
  constructor(
    readonly path: string,
    readonly errno: string | undefined,
    cause: unknown,
  ) {
    super(`writing pack file ${path}: ${(cause as Error).message}`);
  }
}

/** Append `bytes` to the current pack's file, creating it (exclusively, owner-only) on the first write. */
function writePackBytes(bytes: Buffer): void {
  const path = packPath!;
  try {
    packFd ??= openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    writeAllInPieces(packFd, bytes);
  } catch (e) {
    throw new PackWriteError(path, (e as NodeJS.ErrnoException).code, e);
  }
}

/** With pack files: write out what the pack buffer holds once it is PACK_WRITE_AT or more. */
function writeBufferedIfMany(): void {
  if (init.packFiles && packer.bufferedBytes >= PACK_WRITE_AT) writePackBytes(packer.takeBuffered());
}

/** End the current pack in its file (header, close) and hand the file to the main thread, which saves it. */
function emitPackFile(): void {
  const end = packer.finishStreamed();
  if (!end) return;
  const path = packPath!;
  writePackBytes(end.tail);
  const fd = packFd!;
  packFd = undefined;
  packPath = undefined;
  try {
    closeSync(fd);
  } catch (e) {
    throw new PackWriteError(path, (e as NodeJS.ErrnoException).code, e);
  }
  send({ type: 'packFile', id: end.id, path, size: end.size, blobs: end.blobs });
}

/**
 * Pack buffers come from the pool's budget (pack-buffer-budget.ts): before
 * packing into no buffer, ask the main thread and wait, which is also what
 * holds a backup back when the backend is slower than the workers. With pack
 * files the worker keeps its buffer and asks for a grant (a file) per pack.
 */
async function packBufferReady(): Promise<void> {
  if (init.packFiles ? packPath !== undefined : packer.hasBuffer) return;
  const answer = new Promise<{ buffer?: ArrayBuffer; path?: string }>((resolve) => (bufferWaiter = resolve));
  send({ type: 'needBuffer' });
  const { buffer, path } = await answer;
  if (init.packFiles) {
    if (path === undefined) throw new Error('packGrant came without a pack file');
    packPath = path;
    return;
  }
  // undefined: granted a new one, which the builder allocates at full size.
  if (buffer) packer.provide(Buffer.from(buffer));
}

function reportProgress(atLeast: number): void {
  if (unreportedBytes < atLeast || unreportedBytes === 0) return;
  send({ type: 'progress', bytes: unreportedBytes });
  unreportedBytes = 0;
}

async function backupFile(file: BackupFileJob, store = true): Promise<BackupFileResult> {
  const content: string[] = [];
  let fd: number;
  try {
    fd = openSync(file.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    return { content, size: 0, bytesNew: 0, error: (e as Error).message };
  }
  let size = 0;
  let bytesNew = 0;
  try {
    let start = 0;
    let end = 0;
    let eof = false;
    const max = init.chunker.maxSize;
    let need = LOOKAHEAD;
    for (;;) {
      while (!eof && end - start < need) {
        // The buffer holds max + READ_SIZE: after this move a max-size chunk still fits. Moving
        // what is held to the front once a read's worth is consumed (not only at the buffer's
        // end) keeps reads near its start: the pages past the longest chunk held are never
        // touched, so never resident (issue 22: ~5 of the 10 MiB per worker; the move is
        // less than the lookahead, ~1 MiB per chunk, against reading and sealing it).
        if ((readBuffer.length - end < READ_SIZE || start >= READ_SIZE) && start > 0) {
          readBuffer.copy(readBuffer, 0, start, end);
          end -= start;
          start = 0;
        }
        const want = Math.min(readBuffer.length - end, READ_SIZE);
        const n = readSync(fd, readBuffer, end, want, null);
        if (n === 0) eof = true;
        else {
          end += n;
          size += n;
          if (store) unreportedBytes += n;
          // A short read that reaches the size lstat gave is the end: most files are
          // smaller than one read, and this spares each of them a second read that
          // returns 0. Anywhere else (a file still growing, a filesystem that reads
          // short) the loop reads on until read returns 0, as before.
          if (n < want && size === file.size) eof = true;
        }
      }
      if (start === end) break;
      const length = chunker.cut(readBuffer, start, end - start, eof);
      if (length === 0) {
        need = max; // no boundary in what is held: read on, up to a max-size chunk
        continue;
      }
      need = LOOKAHEAD;
      const chunk = readBuffer.subarray(start, start + length);
      const idBytes = blobIdOf(key.mac, chunk);
      const id = idBytes.toString('hex');
      content.push(id);
      if (store && (!blobSet || blobSet.claim(idBytes))) {
        await packBufferReady();
        let entry = packer.add('data', id, chunk);
        if (!entry) {
          await emitPackIfFull(true);
          await packBufferReady();
          entry = packer.add('data', id, chunk)!;
        }
        writeBufferedIfMany();
        bytesNew += length;
        // Compressed in place; its ciphertext was copied into the pack buffer and is garbage now.
        releasedLargeBuffer(entry.length);
      }
      start += length;
      if (store) reportProgress(16 * 1024 * 1024);
      await emitPackIfFull(false);
    }
  } catch (e) {
    if (e instanceof PackWriteError) throw e;
    return { content, size, bytesNew, error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
  return { content, size, bytesNew, changed: size !== file.size || undefined };
}

/**
 * `collectPerBlob`: `data` is this worker's own reused buffer, so each blob's
 * decrypted copy can be scavenged as soon as it is written; a transferred
 * buffer would be promoted by those scavenges instead (see releaseAfterJob).
 */
function restoreBlobs(
  data: Buffer,
  blobs: RestoreBlobJob[],
  chown: boolean,
  collectPerBlob: boolean,
): { written: number; failed: { path: string; error: string }[] } {
  const failed: { path: string; error: string }[] = [];
  let written = 0;
  const parts = new OpenParts();
  try {
    for (const blob of blobs) {
      written += restoreBlob(blob, data, chown, parts, failed);
      if (collectPerBlob) restoredBlob(blob.length);
    }
  } finally {
    parts.closeAll();
  }
  return { written, failed };
}

/**
 * Descriptors of multi-blob files this job writes into, kept open across
 * their blobs: a span holds up to 8 MiB of one big file's consecutive blobs,
 * and an open, fstat and close per blob cost more than its write. Checked
 * once when opened (the inode the restorer created, see restoreBlob); the
 * restorer later sets metadata only if that same inode is at the path.
 */
class OpenParts {
  private readonly fds = new Map<string, number>();

  fdFor(path: string): number {
    const known = this.fds.get(path);
    if (known !== undefined) return known;
    // O_NONBLOCK: a FIFO planted since fails (ENXIO) instead of hanging; a hard link
    // planted since (to a file elsewhere) has nlink > 1 and is refused before anything is written.
    const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.nlink !== 1) throw new Error(`${path} was replaced during the restore (not the file it created); not written`);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    // A job's blobs rarely span more than a few files; bound it anyway (a span of many small parts).
    if (this.fds.size >= 64) this.closeAll();
    this.fds.set(path, fd);
    return fd;
  }

  /** After a failed write the next blob opens (and checks) the path afresh. */
  drop(path: string): void {
    const fd = this.fds.get(path);
    if (fd === undefined) return;
    this.fds.delete(path);
    closeSync(fd);
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/**
 * Verifies one blob and writes it to its targets; returns the bytes written. The blob is decrypted
 * over its own bytes in `data` (this worker's span buffer, or a pack sent to it): each of a job's
 * blobs is read once, and nothing reads `data` after the job.
 */
function restoreBlob(blob: RestoreBlobJob, data: Buffer, chown: boolean, parts: OpenParts, failed: { path: string; error: string }[]): number {
  let written = 0;
  const plain = openBlob(key, blob, data.subarray(blob.at, blob.at + blob.length), scratch, blob.idCheckedOnReRead !== true, true);
  if (typeof plain === 'string') {
    for (const t of blob.targets) failed.push({ path: t.path, error: `blob ${blob.id.slice(0, 12)} ${plain}` });
    return 0;
  }
  for (const target of blob.targets) {
    if (!target.whole) {
      // Created by the restorer while planning (OpenParts checks it is still that file).
      try {
        writeAllInPieces(parts.fdFor(target.path), plain, target.offset);
        written += plain.length;
      } catch (e) {
        parts.drop(target.path);
        failed.push({ path: target.path, error: (e as Error).message });
      }
      continue;
    }
    let fd: number | undefined;
    try {
      // The restorer unlinked whatever was here (or the folder is new): O_EXCL makes a
      // file, hard link or symlink planted since then fail this file, never take the write.
      fd = openSync(target.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      writeAllInPieces(fd, plain, 0);
      if (chown && target.whole.uid !== undefined) fchownSync(fd, target.whole.uid, target.whole.gid ?? -1);
      fchmodSync(fd, target.whole.mode);
      futimesSync(fd, target.whole.mtimeMs / 1000, target.whole.mtimeMs / 1000);
      written += plain.length;
    } catch (e) {
      const error = (e as NodeJS.ErrnoException).code === 'EEXIST' ? `${(e as Error).message} (something was created at this path during the restore; nothing was written through it)` : (e as Error).message;
      failed.push({ path: target.path, error });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return written;
}

/**
 * A restored file re-read from disk and each of its blobs' bytes hashed
 * against the blob's id (the snapshot's content, in order): null when all
 * match, else what is wrong. The blobs' lengths are known, so there is no
 * chunking (a drill used to re-chunk every file like a backup); the bytes are
 * read into this worker's pack read buffer, one blob at a time.
 */
function validateFile(file: ValidateFileJob): string | null {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put here since fails instead of hanging.
    fd = openSync(file.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return `could not be re-read: ${(e as Error).message}`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return 'is not a regular file';
    if (st.size !== file.size) return `does not match the snapshot (${st.size} bytes restored, ${file.size} expected)`;
    let offset = 0;
    for (const blob of file.blobs) {
      const bytes = fileBufferOf(blob.length).subarray(0, blob.length);
      const done = readUpTo(fd, bytes, blob.length, offset);
      if (done < blob.length) return `does not match the snapshot (it ends at byte ${offset + done}, ${file.size} expected)`;
      if (!blobIdOf(key.mac, bytes).equals(Buffer.from(blob.id, 'hex'))) {
        return `does not match the snapshot (bytes ${offset}-${offset + blob.length} are not blob ${blob.id.slice(0, 12)})`;
      }
      offset += blob.length;
    }
    if (offset !== file.size) return `does not match the snapshot (its blobs hold ${offset} bytes, ${file.size} expected)`;
    return null;
  } catch (e) {
    return `could not be re-read: ${(e as Error).message}`;
  } finally {
    closeSync(fd);
  }
}

/** Bytes of a pack file read at a time by verifyPackFromFile. */
const VERIFY_WINDOW = 2 * 1024 * 1024;

/**
 * verifyPack of a local pack file, read a window at a time instead of whole: the
 * header from the file's end first, then the blobs in order, each hashed into the
 * pack's SHA-256 as it goes by and opened (MAC, length, content id), then the
 * header bytes. The same checks and the same result as verifyPack on the whole
 * pack, with ~2 MiB of the read buffer touched instead of the pack's 16 MiB
 * (a blob longer than the window is read whole). A read error throws: the
 * caller falls back to the backend, which reports it.
 */
function verifyPackFromFile(packId: string, path: string, legacy?: boolean): VerifyPackResult {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    const result: VerifyPackResult = { pack: packId, hashOk: true, blobs: [], damaged: [], size };
    const sha = createHash('sha256');
    const lengthBytes = readFully(fd, Buffer.alloc(4), Math.min(4, size), Math.max(0, size - 4), path);
    const headerLength = lengthBytes.length === 4 ? lengthBytes.readUInt32LE(0) : 0;
    // A length that does not fit is passed on as it is: parsePackHeader says what is wrong.
    const tailLength = headerLength + 4 <= size ? headerLength + 4 : lengthBytes.length;
    const tail = readFully(fd, Buffer.allocUnsafe(tailLength), tailLength, size - tailLength, path);
    let blobs;
    try {
      blobs = parsePackHeader(key, packId, tail, size, legacy);
    } catch (e) {
      result.headerError = (e as Error).message;
      for (let at = 0; at < size; at += VERIFY_WINDOW) {
        const n = Math.min(VERIFY_WINDOW, size - at);
        sha.update(readFully(fd, fileBufferOf(n), n, at, path));
      }
      result.hashOk = sha.digest('hex') === packId;
      return result;
    }
    const blobsEnd = size - tailLength;
    let windowStart = 0;
    let windowEnd = 0;
    for (const b of blobs) {
      if (b.offset + b.length > windowEnd) {
        const n = Math.min(Math.max(VERIFY_WINDOW, b.length), blobsEnd - b.offset);
        readFully(fd, fileBufferOf(n), n, b.offset, path);
        windowStart = b.offset;
        windowEnd = b.offset + n;
      }
      const sealed = fileBuffer.subarray(b.offset - windowStart, b.offset - windowStart + b.length);
      sha.update(sealed);
      result.blobs.push({ id: b.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength, compressed: b.compressed });
      const plain = openBlob(key, b, sealed, scratch);
      if (typeof plain === 'string') result.damaged.push({ id: b.id, error: plain });
      releasedLargeBuffer(b.length);
    }
    sha.update(tail);
    result.hashOk = sha.digest('hex') === packId;
    return result;
  } finally {
    closeSync(fd);
  }
}

async function handle(msg: WorkerRequest): Promise<void> {
  switch (msg.type) {
    case 'init':
      setUp(msg.init);
      return;
    case 'backup': {
      const results: BackupFileResult[] = [];
      for (const f of msg.files) results.push(await backupFile(f));
      reportProgress(1);
      send({ type: 'backupDone', jobId: msg.jobId, results });
      return;
    }
    case 'hash': {
      const results: BackupFileResult[] = [];
      for (const f of msg.files) results.push(await backupFile(f, false));
      send({ type: 'backupDone', jobId: msg.jobId, results });
      return;
    }
    case 'validateFiles':
      send({ type: 'validateDone', jobId: msg.jobId, problems: msg.files.map(validateFile) });
      return;
    case 'flush':
      await emitPackIfFull(true);
      send({ type: 'flushed', jobId: msg.jobId });
      return;
    case 'packSaved':
    case 'packGrant': {
      if (msg.type === 'packSaved' && !(msg.buffer instanceof ArrayBuffer)) throw new Error('packSaved came without its buffer');
      const waiter = bufferWaiter;
      bufferWaiter = undefined;
      waiter?.(msg.type === 'packSaved' ? { buffer: msg.buffer } : { path: msg.path });
      return;
    }
    case 'restore': {
      if (msg.length === undefined) {
        const { written, failed } = restoreBlobs(Buffer.from(msg.data), msg.blobs, msg.chown, false);
        releaseAfterJob(msg.data.byteLength * 2); // the pack and its blobs' decrypted copies
        send({ type: 'restoreDone', jobId: msg.jobId, written, failed });
        return;
      }
      // A reused span buffer: exactly the span's bytes are read, and the buffer goes back (its views here
      // detached). It is no garbage, so each blob's decrypted copy is collected as it is written, as for
      // the local-file job's own buffer.
      const { written, failed } = restoreBlobs(Buffer.from(msg.data, 0, msg.length), msg.blobs, msg.chown, true);
      send({ type: 'restoreDone', jobId: msg.jobId, written, failed, data: msg.data }, [msg.data]);
      return;
    }
    case 'verifyPack': {
      const result = verifyPackBytes(key, msg.pack, Buffer.from(msg.data), { legacy: msg.legacy, scratch });
      releaseAfterJob(msg.data.byteLength * 2); // the pack and its blobs' decrypted copies
      send({ type: 'verifyDone', jobId: msg.jobId, result });
      return;
    }
    case 'verifyPackFile': {
      let result: VerifyPackResult;
      try {
        result = verifyPackFromFile(msg.pack, msg.file.path, msg.legacy);
      } catch (e) {
        send({ type: 'readFailed', jobId: msg.jobId, error: (e as Error).message });
        return;
      }
      send({ type: 'verifyDone', jobId: msg.jobId, result });
      return;
    }
    case 'restoreFile': {
      let data: Buffer;
      try {
        data = readSpan(msg.file);
      } catch (e) {
        send({ type: 'readFailed', jobId: msg.jobId, error: (e as Error).message });
        return;
      }
      const { written, failed } = restoreBlobs(data, msg.blobs, msg.chown, true);
      send({ type: 'restoreDone', jobId: msg.jobId, written, failed });
      return;
    }
  }
}

// Jobs run one at a time in arrival order, but a pack buffer must get through while
// a backup job waits for it, so 'packSaved' and 'packGrant' are handled immediately.
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'packSaved' || msg.type === 'packGrant') {
    void handle(msg);
    return;
  }
  queue = queue
    .then(() => handle(msg))
    .catch((e: unknown) =>
      send({
        type: 'fatal',
        jobId: 'jobId' in msg ? msg.jobId : undefined,
        error: e instanceof PackWriteError ? e.message : ((e as Error).stack ?? String(e)),
        ...(e instanceof PackWriteError ? { packWrite: { path: e.path, ...(e.errno === undefined ? {} : { errno: e.errno }) } } : {}),
      }),
    );
});
