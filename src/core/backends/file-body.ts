/**
 * An object's bytes in a local file — staging's copy of an object waiting for
 * upload — handed to a backend that can send a file as it reads it
 * (Backend.saveFile). The file is opened once for the whole save, retries
 * included: every attempt reads it afresh from its first byte through the
 * same descriptor (positional reads), so an unlink meanwhile (prune removing a
 * staged object) cannot fail a retry, and no attempt holds the object in memory.
 */
import { close, fstat, open, read } from 'node:fs';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { LifeboatError } from '../errors.js';

export interface FileBody {
  /** Bytes the file held when it was opened; every stream and read yields exactly these. */
  readonly size: number;
  /** Where the bytes are, for messages. */
  readonly path: string;
  /** A new stream of the whole file from its first byte (one per attempt). */
  stream(): Readable;
  /** The whole file in one buffer of its own (backends that cannot stream). */
  bytes(): Promise<Buffer>;
}

/** Streams read 256 KiB at a time: a few TLS records per read, little held per upload. */
const readChunkBytes = 256 * 1024;

/**
 * Opens `path` for a save; the caller closes it once the save is settled.
 * `onRead`: told the size of every chunk a stream reads (each a new buffer,
 * garbage once the socket took it; see StagingOptions.onBodyRead).
 */
export async function openFileBody(path: string, onRead?: (bytes: number) => void): Promise<FileBody & { close(): Promise<void> }> {
  // A plain descriptor, not a FileHandle: a save that never settles (a test's
  // stalled remote) must not turn into a close-on-garbage-collection warning.
  const fd = await openAsync(path, 'r');
  try {
    const { size } = await fstatAsync(fd);
    return {
      size,
      path,
      stream: () => streamOf(fd, size, path, onRead),
      bytes: () => readWhole(fd, size, path),
      close: () => closeAsync(fd),
    };
  } catch (e) {
    await closeAsync(fd).catch(() => undefined);
    throw e;
  }
}

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);
const readAsync = promisify(read);

/**
 * Positional reads from byte 0 through the shared descriptor. Not
 * fs.createReadStream: destroying that (as the S3 backend does with a body
 * once its request settles) closes the descriptor even with autoClose off,
 * and the next attempt would read a closed — or reused — descriptor.
 */
function streamOf(fd: number, size: number, path: string, onRead: ((bytes: number) => void) | undefined): Readable {
  let position = 0;
  return new Readable({
    highWaterMark: readChunkBytes,
    read() {
      if (position >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(readChunkBytes, size - position);
      const chunk = Buffer.allocUnsafe(length);
      read(fd, chunk, 0, length, position, (error, bytesRead) => {
        if (this.destroyed) return;
        if (error) {
          this.destroy(error);
          return;
        }
        if (bytesRead === 0) {
          this.destroy(shrank(path, position, size));
          return;
        }
        position += bytesRead;
        this.push(bytesRead < length ? chunk.subarray(0, bytesRead) : chunk);
        onRead?.(bytesRead);
      });
    },
  });
}

function shrank(path: string, read: number, size: number): LifeboatError {
  return new LifeboatError('BACKEND_IO', `${path}: the file shrank to ${read} of its ${size} bytes while it waited for upload`, { details: { path, expected: size, read } });
}

async function readWhole(fd: number, size: number, path: string): Promise<Buffer> {
  // Its own ArrayBuffer (not a slice of the shared pool), as LocalBackend.load gives.
  const buffer = Buffer.allocUnsafeSlow(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await readAsync(fd, buffer, done, size - done, done);
    if (bytesRead === 0) throw shrank(path, done, size);
    done += bytesRead;
  }
  return buffer;
}
