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
 * Here FOLDERS_AT_ONCE runners take folders from a stack (depth first): a
 * folder's entries are listed (with their types, so no lstat each), at most
 * UNLINKS_IN_FLIGHT of its files unlinked at once, its subfolders pushed; a
 * folder is removed once its files and every subfolder are gone. At most
 * 4 x 16 requests are in flight, and what waits is the stack (the subfolders of
 * the folders on the current paths). One folder at a time was as lean but made
 * the 50k-file tree's cleanup on ext4 ~2 s slower than `rm`; every listed
 * subfolder started at once (waiting for a turn) was as fast but held a frame
 * per folder: +15 MiB (docs/performance.md, seventh stop). A symlink is
 * unlinked, never followed (a Dirent from readdir describes the entry itself).
 *
 * Any error (a folder whose mode forbids removing its entries, an entry that
 * changed under it) falls back to `rm(dir, { recursive: true, force: true })`
 * for what is left, so the result is never less removed than before.
 */
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Folders emptied at once. */
const FOLDERS_AT_ONCE = 4;
/** Files of one folder unlinked at once. */
const UNLINKS_IN_FLIGHT = 16;

/** A folder to remove, once its own files (1) and each subfolder (1 each) are gone: `pending`. */
interface Folder {
  path: string;
  parent: Folder | undefined;
  pending: number;
}

/** Remove `dir` and everything under it; a missing `dir` is not an error (as `rm`'s `force`). */
export async function removeScratch(dir: string): Promise<void> {
  try {
    await removeTree(dir);
  } catch {
    await rm(dir, { recursive: true, force: true });
  }
}

function removeTree(root: string): Promise<void> {
  const stack: Folder[] = [{ path: root, parent: undefined, pending: 1 }];
  let running = 0;
  let failed = false;
  let failure: unknown;
  return new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (!failed && running < FOLDERS_AT_ONCE && stack.length > 0) {
        running++;
        empty(stack.pop()!, stack).then(
          () => {
            running--;
            pump();
          },
          (e: unknown) => {
            running--;
            if (!failed) failure = e;
            failed = true;
            pump();
          },
        );
      }
      // Settled only when no runner is left: nothing of this walk still runs when `rm` takes over.
      if (running > 0) return;
      if (failed) reject(failure);
      else if (stack.length === 0) resolve();
    };
    pump();
  });
}

/** Unlink the folder's files, push its subfolders, and remove it (and the parents it was the last of) if nothing is left. */
async function empty(folder: Folder, stack: Folder[]): Promise<void> {
  const entries = await readdir(folder.path, { withFileTypes: true });
  let batch: Promise<void>[] = [];
  for (const entry of entries) {
    const path = join(folder.path, entry.name);
    if (entry.isDirectory()) {
      folder.pending++;
      stack.push({ path, parent: folder, pending: 1 });
      continue;
    }
    batch.push(unlink(path));
    if (batch.length >= UNLINKS_IN_FLIGHT) {
      await settled(batch);
      batch = [];
    }
  }
  await settled(batch);
  for (let f: Folder | undefined = folder; f !== undefined && --f.pending === 0; f = f.parent) await rmdir(f.path);
}

/** Every one finished, then the first failure thrown. */
async function settled(all: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(all)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
