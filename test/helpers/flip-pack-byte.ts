/**
 * Damage a local repository the way a bad disk or a hostile writer would:
 * one byte in the middle of a blob's ciphertext inside its pack file, changed
 * in place (same file, same size), so the pack no longer matches its name and
 * the blob no longer authenticates, while the pack's other blobs stay readable.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** XORs `mask` into the middle byte of the blob at `loc` in `repoDir`'s pack file; returns the offset changed. */
export async function flipPackByte(repoDir: string, loc: { pack: string; offset: number; length: number }, mask = 0x10): Promise<number> {
  const fh = await open(join(repoDir, 'data', loc.pack.slice(0, 2), loc.pack), 'r+');
  try {
    const at = loc.offset + Math.floor(loc.length / 2);
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, at);
    byte[0]! ^= mask;
    await fh.write(byte, 0, 1, at);
    return at;
  } finally {
    await fh.close();
  }
}
