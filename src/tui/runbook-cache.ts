/**
 * The runbooks the console shows, read and validated again only when the
 * runbooks folder changed. The console polls every second; parsing and
 * validating every YAML file each time would be most of its work, while a
 * look at the folder (one readdir, one stat per entry) says whether anything
 * changed at all: an edited, added, removed or renamed file changes a name,
 * a size, an inode or a modification time.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { listRunbooks, type RunbookEntry, type RunbookLocations } from '../core/index.js';

/** A loader: the first call lists the runbooks; later calls list them again only after the folder changed. */
export function cachedRunbooks(locations: RunbookLocations): () => Promise<RunbookEntry[]> {
  let cached: { signature: string; entries: RunbookEntry[] } | undefined;
  return async () => {
    // Taken before the list is read: a change in between makes the next call read again.
    const signature = await folderSignature(path.resolve(locations.cwd, locations.runbooksDir));
    if (cached?.signature !== signature) cached = { signature, entries: await listRunbooks(locations) };
    return cached.entries;
  };
}

/** Every entry of the folder with what changes when its file does (stat follows symlinks, so a re-pointed link counts). */
async function folderSignature(dir: string): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    return `unreadable: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  const parts = await Promise.all(
    names.map(async (name) => {
      const s = await stat(path.join(dir, name)).catch(() => undefined);
      return s ? `${name}\t${s.ino}\t${s.size}\t${s.mtimeMs}\t${s.ctimeMs}` : `${name}\t-`;
    }),
  );
  return parts.join('\n');
}
