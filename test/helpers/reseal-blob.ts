/**
 * Damage a MAC cannot see: a data blob re-sealed under the repository's own
 * key with one byte of its plaintext changed, in place in its pack (same
 * length, so the pack's header still describes it). Its tag verifies; only its
 * content is no longer its id's — what a writer's bug, or someone holding the
 * key, would leave behind. Needs an uncompressed blob (random bytes are stored
 * so), whose plaintext length is its sealed length less the seal's overhead.
 */
import { open } from 'node:fs/promises';
import { blobAdFor } from '../../src/core/repo/binding.js';
import { sealInto, tryOpen } from '../../src/core/repo/crypto.js';
import type { BlobLocation } from '../../src/core/repo/format.js';
import type { Repository } from '../../src/core/repo/repository.js';
import { localPackPath } from '../../src/core/repo/worker-pool.js';

export async function resealWithChangedPlaintext(repo: Repository, loc: BlobLocation): Promise<void> {
  if (loc.compressed) throw new Error(`blob ${loc.id.slice(0, 12)} is compressed: re-sealing it changed would change its length`);
  const path = localPackPath(repo.backend, loc.pack);
  if (path === undefined) throw new Error('resealWithChangedPlaintext needs a local repository');
  const fh = await open(path, 'r+');
  try {
    const sealed = Buffer.alloc(loc.length);
    await fh.read(sealed, 0, loc.length, loc.offset);
    const ad = blobAdFor(repo.key, loc.id, loc.legacy);
    const plain = tryOpen(repo.key.encryption, sealed, ad);
    if (plain === undefined || plain.length !== loc.rawLength) throw new Error(`blob ${loc.id.slice(0, 12)} does not open as its index says`);
    const at = plain.length >> 1;
    plain[at] = plain[at]! ^ 0x01;
    if (sealInto(repo.key.encryption, plain, sealed, 0, ad) !== loc.length) throw new Error('re-sealed blob changed length');
    await fh.write(sealed, 0, loc.length, loc.offset);
  } finally {
    await fh.close();
  }
}
