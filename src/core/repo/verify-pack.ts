/**
 * The checks a pack read whole gets, by a worker (check, a verify slice) or on
 * the main thread (a backup's one sample pack): its SHA-256 is its name, its
 * header opens, and every blob authenticates, decompresses to its length and
 * hashes to its id (openBlob).
 */
import { createHash } from 'node:crypto';
import type { RepoKeys } from './binding.js';
import type { DecompressScratch } from './compress.js';
import { openBlob, parsePackHeader } from './pack.js';
import type { VerifyPackResult } from './worker-protocol.js';

export function verifyPackBytes(key: RepoKeys, packId: string, data: Buffer, options: { legacy?: boolean; scratch?: DecompressScratch } = {}): VerifyPackResult {
  const result: VerifyPackResult = { pack: packId, hashOk: createHash('sha256').update(data).digest('hex') === packId, blobs: [], damaged: [], size: data.length };
  let blobs;
  try {
    blobs = parsePackHeader(key, packId, data, data.length, options.legacy);
  } catch (e) {
    result.headerError = (e as Error).message;
    return result;
  }
  for (const b of blobs) {
    result.blobs.push({ id: b.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength, compressed: b.compressed });
    const plain = openBlob(key, b, data.subarray(b.offset, b.offset + b.length), options.scratch);
    if (typeof plain === 'string') result.damaged.push({ id: b.id, error: plain });
  }
  return result;
}
