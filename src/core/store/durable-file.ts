/**
 * Whole-file replacement that survives a crash or a power cut: write a temp file,
 * fsync it, rename it over the target, fsync the folder. Readers see the old
 * bytes or the new ones, never a mix; once `replaceFileDurably` returns, the new
 * bytes are on disk, not only in the page cache.
 *
 * Callers hold the store's lock, so one temp name per process is enough; a temp
 * file left by a killed writer is swept by `removeStaleTempFiles`.
 */
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const tempMarker = '.tmp-';

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

export async function replaceFileDurably(path: string, text: string, mode = 0o600): Promise<void> {
  const temp = tempPathOf(path);
  try {
    const handle = await open(temp, 'w', mode);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  await syncFolder(dirname(path));
}

/**
 * Only call while holding the lock that every writer of `path` takes. This
 * process's own temp name is left: its next write truncates it anyway.
 */
export async function removeStaleTempFiles(path: string): Promise<void> {
  const prefix = `${basename(path)}${tempMarker}`;
  const own = tempPathOf(path);
  const names = await readdir(dirname(path));
  await Promise.all(names.filter((n) => n.startsWith(prefix) && join(dirname(path), n) !== own).map((n) => rm(join(dirname(path), n), { force: true })));
}

/** The temp file this process writes `path`'s next version to. */
export function tempPathOf(path: string): string {
  return `${path}${tempMarker}${process.pid}`;
}

/** The rename is durable only once the folder entry is; some platforms cannot open a folder for fsync. */
export async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    if (!isErrno(e, 'EISDIR') && !isErrno(e, 'EINVAL') && !isErrno(e, 'EPERM')) throw e;
  } finally {
    await handle?.close();
  }
}

export function isErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code;
}
