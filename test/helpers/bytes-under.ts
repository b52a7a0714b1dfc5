/** Bytes in the regular files under a folder (0 when it does not exist), for tests that watch a staging folder fill and drain. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    // A save's temporary file may be renamed, or an uploaded object leave, between the listing and the stat.
    total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
