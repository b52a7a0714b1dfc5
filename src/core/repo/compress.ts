/**
 * zstd per blob (Node 20's zlib has none). zstd-napi runs synchronously, which is
 * what we want inside worker threads: the async alternatives queue on the libuv
 * pool and compete with the workers for the same cores.
 */
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';

/** Compress, or return undefined when it would not save at least 1/32 of the size (random data, media). */
export function compressIfSmaller(data: Uint8Array, level: number): Buffer | undefined {
  if (data.length < 64) return undefined;
  const out = zstdCompress(data, { compressionLevel: level });
  return out.length <= data.length - (data.length >> 5) ? out : undefined;
}

export function decompress(data: Uint8Array): Buffer {
  return zstdDecompress(data);
}
