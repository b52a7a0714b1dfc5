/**
 * zstd per blob (Node 20's zlib has none). zstd-napi runs synchronously, which is
 * what we want inside worker threads: the async alternatives queue on the libuv
 * pool and compete with the workers for the same cores.
 */
import { createRequire } from 'node:module';
import { compress as zstdCompress } from 'zstd-napi';

// The package's low-level binding decompresses into a buffer the caller owns; it has no ESM entry.
const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

const PROBE_SIZE = 16 * 1024;

/**
 * Large blobs of already-compressed or random data (media, archives, encrypted
 * dumps) are common and zstd gains nothing on them, so a 16 KiB sample from the
 * middle decides first whether compressing the whole blob is worth the CPU.
 */
function looksIncompressible(data: Uint8Array): boolean {
  if (data.length < PROBE_SIZE * 8) return false;
  const at = (data.length >> 1) - (PROBE_SIZE >> 1);
  const sample = data.subarray(at, at + PROBE_SIZE);
  // The thread's reused context and output: zstd-napi's compress() builds a context per call.
  probeOut ??= Buffer.allocUnsafe(binding.compressBound(PROBE_SIZE));
  return compressInto(probeOut, sample, 1) > PROBE_SIZE - (PROBE_SIZE >> 5);
}

let probeOut: Buffer | undefined;

/** Whether compressing `data` may pay: not tiny, and a sample of it shrinks. */
export function worthCompressing(data: Uint8Array): boolean {
  return data.length >= 64 && !looksIncompressible(data);
}

/** Whether `compressedLength` bytes save at least 1/32 of `rawLength` (else the blob is stored raw). */
export function savesEnough(compressedLength: number, rawLength: number): boolean {
  return compressedLength <= rawLength - (rawLength >> 5);
}

/** Compress into a new buffer (for callers that cannot give compressInto enough room). */
export function compressToNew(data: Uint8Array, level: number): Buffer {
  return zstdCompress(data, { compressionLevel: level });
}

/** Compress, or return undefined when it would not save at least 1/32 of the size. */
export function compressIfSmaller(data: Uint8Array, level: number): Buffer | undefined {
  if (!worthCompressing(data)) return undefined;
  const out = compressToNew(data, level);
  return savesEnough(out.length, data.length) ? out : undefined;
}

/** Room compressInto may need for `length` bytes of input. */
export function compressBound(length: number): number {
  return binding.compressBound(length);
}

let cctx: InstanceType<typeof binding.CCtx> | undefined;

/**
 * Compress `data` into `out` (at least compressBound(data.length) bytes) and
 * return the compressed length: the pack builder compresses straight into
 * its pack buffer, so a blob leaves no compressed copy behind as garbage.
 */
export function compressInto(out: Uint8Array, data: Uint8Array, level: number): number {
  cctx ??= new binding.CCtx();
  return cctx.compress(out, data, level);
}

/**
 * Decompress one frame whose declared size must be at most `limit` (or exactly
 * `limit` with `exact`). The output buffer is allocated at the declared size
 * and decompression cannot write past it, so a frame that claims little and
 * expands to much fails instead of growing memory without bound. Returns an
 * error string (callers name the object).
 */
export function decompressBounded(data: Uint8Array, limit: number, exact = false): Buffer | string {
  let declared: number | null;
  try {
    declared = binding.getFrameContentSize(data);
  } catch {
    return 'is not a zstd frame';
  }
  if (declared === null || declared === undefined) return 'is a zstd frame that does not declare its size';
  if (exact ? declared !== limit : declared > limit) {
    return exact ? `declares ${declared} bytes, expected ${limit}` : `declares ${declared} bytes, more than the ${limit} allowed`;
  }
  const out = Buffer.allocUnsafe(declared);
  try {
    const n = (dctx ??= new binding.DCtx()).decompress(out, data);
    return n === declared ? out : `decompresses to ${n} bytes, declared ${declared}`;
  } catch (e) {
    return `does not decompress (${(e as Error).message})`;
  }
}

let dctx: InstanceType<typeof binding.DCtx> | undefined;

/**
 * Decompresses into a buffer that is reused from call to call, for the
 * workers' verify and restore loops: the result is only valid until the next
 * call. A fresh buffer per blob was up to 8 MiB of garbage each, which piled
 * up between collections (see release-memory.ts). A frame whose declared size
 * is not `expectedLength` is refused, and output can never exceed it.
 */
export class DecompressScratch {
  private readonly dctx = new binding.DCtx();
  private buffer = Buffer.alloc(0);

  /**
   * `initialSize`: the largest blob expected (the chunker's max), allocated
   * up front in one piece: growing step by step frees buffers that raise
   * glibc's mmap threshold, and later ones then stay in the thread's arena.
   * Pages never written are not resident, so the room costs nothing.
   */
  constructor(private readonly initialSize = 0) {
    // Allocated now, before the thread has freed any big buffer (see above).
    if (initialSize > 0) this.buffer = Buffer.allocUnsafeSlow(initialSize);
  }

  /** The plaintext, or an error string when the frame does not declare exactly `expectedLength` bytes. */
  decompress(data: Uint8Array, expectedLength: number): Buffer | string {
    let declared: number | null;
    try {
      declared = binding.getFrameContentSize(data);
    } catch {
      return 'is not a zstd frame';
    }
    if (declared !== expectedLength) return `declares ${declared ?? 'no'} bytes, expected ${expectedLength}`;
    if (this.buffer.length < expectedLength) {
      this.buffer = Buffer.alloc(0); // let the old one go before the new one is allocated
      this.buffer = Buffer.allocUnsafeSlow(Math.max(expectedLength, this.initialSize));
    }
    const out = this.buffer.subarray(0, expectedLength);
    let n: number;
    try {
      n = this.dctx.decompress(out, data);
    } catch (e) {
      return `does not decompress (${(e as Error).message})`;
    }
    return n === expectedLength ? out : `decompresses to ${n} bytes, expected ${expectedLength}`;
  }
}
