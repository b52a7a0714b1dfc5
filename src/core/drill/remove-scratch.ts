/**
 * Removing a drill's scratch folder (a whole restore: 50k files in 4,800
 * folders for the bench's tree dataset) with bounded memory.
 *
 * `fs.promises.rm(dir, { recursive: true })` (Node 20's rimraf) starts an lstat
 * and unlink for every entry of a folder at once, and every subfolder's at once
 * as soon as it is listed: nearly the whole tree is in flight together, each
 * entry with its path as a Buffer, its request object and closures. For the
 * 50k-file tree that grew the drill's main heap by ~18-25 MiB at its end and
 * made the cleanup the drill's peak RSS (docs/performance.md, seventh stop).
 *
 * Here one folder at a time, depth first: its entries listed (with their types,
 * so no lstat each), at most UNLINKS_IN_FLIGHT of its files unlinked at once,
 * its subfolders removed one after the other, then the folder itself. What is
 * live is the entries of the folders on the current path. A symlink is
 * unlinked, never followed (a Dirent from readdir describes the entry itself).
 *
 * Any error (a folder whose mode forbids removing its entries, an entry that
 * changed under it) falls back to `rm(dir, { recursive: true, force: true })`
 * for what is left, so the result is never less removed than before.
 */
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Files of one folder unlinked at once: enough to keep libuv's 4 threads busy. */
const UNLINKS_IN_FLIGHT = 16;

/** Remove `dir` and everything under it; a missing `dir` is not an error (as `rm`'s `force`). */
export async function removeScratch(dir: string): Promise<void> {
  try {
    await removeFolder(dir);
  } catch {
    await rm(dir, { recursive: true, force: true });
  }
}

async function removeFolder(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders: string[] = [];
  let batch: Promise<void>[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      folders.push(path);
      continue;
    }
    batch.push(unlink(path));
    if (batch.length >= UNLINKS_IN_FLIGHT) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  for (const folder of folders) await removeFolder(folder);
  await rmdir(dir);
}

