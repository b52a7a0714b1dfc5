/**
 * Writes a planned restore (snapshot-plan.ts) into a target folder: make the
 * folders and clear the paths, then read packs in spans and let the workers
 * decrypt, verify and write, then set metadata.
 *
 * Safety: directories that already exist must be real directories; whatever
 * sits at a file's path is unlinked and the file created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink or hard link planted there (before
 * or during the restore) fails that one file instead of being written
 * through; owner, mode and times are set on descriptors opened with
 * O_NOFOLLOW (fchown/fchmod/futimes), never through a path that could follow
 * a symlink; symlinks are created last and only touched with lchown/lutimes.
 * (Names that could escape the target were refused by the plan.)
 */
import { constants } from 'node:fs';
import { lchown, lstat, lutimes, mkdir, open, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError } from '../errors.js';
import type { BlobLocation } from './format.js';
import { mapLimit, type Repository } from './repository.js';
import type { PlannedFile, PlannedNode, SnapshotPlan } from './snapshot-plan.js';
import type { TreeNode } from './tree.js';
import { WorkerPool, localPackPath } from './worker-pool.js';
import type { RestoreBlobJob, RestoreTarget } from './worker-protocol.js';

export interface WriteOptions {
  /** An existing folder (restoreSnapshot makes it). */
  target: string;
  signal?: AbortSignal;
  workers?: number;
  onProgress?: (p: RestoreProgress) => void;
  /** Phase boundaries for drills: folders made and paths cleared (blobs located), last pack fetched. */
  onMilestone?: (milestone: 'planned' | 'fetched', outcome: RestoreOutcome) => void;
}

export interface RestoreProgress {
  files: number;
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface RestoreOutcome extends RestoreProgress {
  dirs: number;
  symlinks: number;
  packsRead: number;
  bytesFetched: number;
  failed: { path: string; error: string }[];
}

interface NeededBlob {
  loc: BlobLocation;
  targets: RestoreTarget[];
}

interface FileMeta {
  path: string;
  node: TreeNode;
}

/** A multi-blob file as created while preparing: its metadata goes only to that same inode. */
interface CreatedFile extends FileMeta {
  dev: number;
  ino: number;
}

/** One read of a pack: blobs closer than SPAN_GAP, at most SPAN_MAX bytes. */
interface Span {
  pack: string;
  offset: number;
  length: number;
  blobs: NeededBlob[];
}

/** Blobs in one pack closer than this are read in one request rather than two. */
const SPAN_GAP = 1024 * 1024;
const SPAN_MAX = 8 * 1024 * 1024;

export async function writeRestore(repo: Repository, plan: SnapshotPlan, options: WriteOptions): Promise<RestoreOutcome> {
  const { target, signal } = options;
  const asRoot = process.getuid?.() === 0;
  const failed: RestoreOutcome['failed'] = [];
  const outcome: RestoreOutcome = { files: 0, bytes: 0, totalFiles: plan.files.length, totalBytes: plan.fileBytes, dirs: 0, symlinks: 0, packsRead: 0, bytesFetched: 0, failed };
  const byPack = new Map<string, Map<string, NeededBlob>>();
  const multiBlobFiles: CreatedFile[] = [];
  const dirsToFinish: FileMeta[] = [];
  const symlinks: FileMeta[] = [];

  function need(loc: BlobLocation, t: RestoreTarget): void {
    let blobs = byPack.get(loc.pack);
    if (!blobs) byPack.set(loc.pack, (blobs = new Map()));
    const needed = blobs.get(loc.id);
    if (needed) needed.targets.push(t);
    else blobs.set(loc.id, { loc, targets: [t] });
  }

  /**
   * `fresh`: the folder was just created by this restore. Otherwise whatever
   * already sits at `path` is removed first: writing in place would follow a
   * symlink (refused by O_NOFOLLOW, failing the file) or write through a hard
   * link into a file outside the target.
   */
  async function prepareFile(path: string, file: PlannedFile, fresh: boolean): Promise<void> {
    const { node, locs } = file;
    if (file.missing !== undefined) {
      failed.push({ path, error: `blob ${file.missing[0]!.slice(0, 12)} is missing from the repository index` });
      return;
    }
    if (!fresh) {
      try {
        await unlinkIfPresent(path);
      } catch (e) {
        failed.push({ path, error: (e as Error).message });
        return;
      }
    }
    if (locs.length === 1) {
      // The worker creates it with O_EXCL (see restoreBlobs in repo-worker.ts).
      need(locs[0]!, { path, offset: 0, whole: { mode: node.mode, mtimeMs: node.mtimeMs, uid: node.uid, gid: node.gid } });
      return;
    }
    // Empty or multi-blob file: create it here at its final size, workers fill it in.
    let fh: FileHandle;
    try {
      fh = await open(path, CREATE_FLAGS, 0o600);
    } catch (e) {
      failed.push({ path, error: createError(e) });
      return;
    }
    try {
      if (locs.length === 0) {
        // Nothing left to write: its metadata goes on now, on the descriptor just created.
        await setMeta(fh, node, asRoot);
        outcome.files++;
        return;
      }
      if ((node.size ?? 0) > 0) await fh.truncate(node.size);
      const { dev, ino } = await fh.stat();
      multiBlobFiles.push({ path, node, dev, ino });
    } catch (e) {
      failed.push({ path, error: (e as Error).message });
      return;
    } finally {
      await fh.close();
    }
    let offset = 0;
    for (const loc of locs) {
      need(loc, { path, offset });
      offset += loc.rawLength;
    }
  }

  async function prepare(entry: PlannedNode, parentFresh: boolean): Promise<void> {
    const path = join(target, entry.rel);
    if (entry.kind === 'file') return prepareFile(path, entry, parentFresh);
    if (entry.kind === 'symlink') {
      symlinks.push({ path, node: entry.node });
      return;
    }
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
    const created = await ensureDir(path);
    outcome.dirs++;
    if (entry.listingError !== undefined) failed.push({ path, error: `folder listing: ${entry.listingError.message}` });
    for (const child of entry.children) await prepare(child, created);
    dirsToFinish.push({ path, node: entry.node });
  }

  for (const rel of plan.parents) await ensureDir(join(target, rel));
  for (const entry of plan.entries) await prepare(entry, false);

  // Fetch and write, pack by pack, in spans.
  const pool = new WorkerPool(repo, { workers: options.workers });
  try {
    const spans = spansOf(byPack);
    outcome.packsRead = byPack.size;
    options.onMilestone?.('planned', outcome);
    let fetchesLeft = spans.length;
    if (fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
    await mapLimit(spans, pool.size * 2 + 1, async (span) => {
      if (signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
      const jobs: RestoreBlobJob[] = span.blobs.map((b) => ({
        id: b.loc.id,
        at: b.loc.offset - span.offset,
        length: b.loc.length,
        rawLength: b.loc.rawLength,
        compressed: b.loc.compressed,
        legacy: b.loc.legacy,
        targets: b.targets,
      }));
      const done = (res: { written: number; failed: { path: string; error: string }[] }) => {
        failed.push(...res.failed);
        outcome.bytes += res.written;
        const failedNow = new Set(res.failed.map((f) => f.path));
        outcome.files += jobs.reduce((n, j) => n + j.targets.filter((t) => t.whole && !failedNow.has(t.path)).length, 0);
        options.onProgress?.(outcome);
      };
      const path = localPackPath(repo.backend, span.pack);
      const fromFile = path === undefined ? undefined : await pool.restoreFromFile(span.pack, { path, offset: span.offset, length: span.length }, jobs, asRoot);
      if (fromFile) {
        outcome.bytesFetched += span.length;
        if (--fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
        done(fromFile);
        return;
      }
      // Not local, or the worker could not read it: the backend loads it (and reports why it cannot).
      let data: Buffer;
      try {
        data = await repo.backend.load({ kind: 'data', name: span.pack }, { offset: span.offset, length: span.length });
      } catch (e) {
        for (const b of span.blobs) for (const t of b.targets) failed.push({ path: t.path, error: `pack ${span.pack.slice(0, 12)}: ${(e as Error).message}` });
        if (--fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
        return;
      }
      outcome.bytesFetched += data.length;
      if (--fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
      done(await pool.restore(span.pack, data, jobs, asRoot));
    });
  } finally {
    await pool.close();
  }

  const failedPaths = new Set(failed.map((f) => f.path));
  for (const f of multiBlobFiles) {
    if (failedPaths.has(f.path)) continue;
    try {
      await applyFileMeta(f.path, f.node, asRoot, f);
      outcome.files++;
    } catch (e) {
      failed.push({ path: f.path, error: (e as Error).message });
    }
  }
  for (const s of symlinks) {
    try {
      await unlinkIfPresent(s.path);
      await symlink(s.node.target ?? '', s.path);
      if (asRoot && s.node.uid !== undefined) await lchown(s.path, s.node.uid, s.node.gid ?? -1);
      await lutimes(s.path, s.node.mtimeMs / 1000, s.node.mtimeMs / 1000);
      outcome.symlinks++;
    } catch (e) {
      failed.push({ path: s.path, error: (e as Error).message });
    }
  }
  // Deepest directories first, so setting a child's mtime does not disturb its parent's.
  for (const d of dirsToFinish) {
    try {
      await applyDirMeta(d.path, d.node, asRoot);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const replaced = code === 'ENOTDIR' || code === 'ELOOP' ? ' (no longer a directory: replaced during the restore; its owner, mode and times were not set)' : '';
      failed.push({ path: d.path, error: `${(e as Error).message}${replaced}` });
    }
  }
  options.onProgress?.(outcome);
  return outcome;
}

/** The pack reads of a restore, pack by pack in id order, each pack's blobs by offset. */
function spansOf(byPack: ReadonlyMap<string, ReadonlyMap<string, NeededBlob>>): Span[] {
  const spans: Span[] = [];
  for (const [pack, blobs] of [...byPack.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...blobs.values()].sort((a, b) => a.loc.offset - b.loc.offset);
    let span: Span | undefined;
    for (const b of sorted) {
      const end = b.loc.offset + b.loc.length;
      if (span && b.loc.offset - (span.offset + span.length) <= SPAN_GAP && end - span.offset <= SPAN_MAX) {
        span.length = end - span.offset;
        span.blobs.push(b);
      } else {
        span = { pack, offset: b.loc.offset, length: b.loc.length, blobs: [b] };
        spans.push(span);
      }
    }
  }
  return spans;
}

/** True when this call created the folder (so it is empty and nothing in it needs replacing). */
async function ensureDir(path: string): Promise<boolean> {
  try {
    await mkdir(path, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await lstat(path);
    if (!st.isDirectory()) {
      throw new LifeboatError('RESTORE_UNSAFE_PATH', `refusing to restore into ${path}: it exists and is not a directory (a symlink could lead outside the target)`);
    }
    return false;
  }
}

/**
 * How a restore creates a file: never through a symlink (O_NOFOLLOW; with
 * O_EXCL even a dangling one fails) and never into an existing file (O_EXCL:
 * a file or hard link planted after the unlink is not truncated and written).
 */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Says what an EEXIST from CREATE_FLAGS means here: the path was cleared (or new), so someone else put it there. */
function createError(e: unknown): string {
  const message = (e as Error).message;
  if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return message;
  return `${message} (something was created at this path during the restore; nothing was written through it)`;
}

/**
 * Removes whatever non-directory sits at `path` (a file, a symlink, a hard
 * link to a file elsewhere) so the restore creates its own. One unlink and no
 * lstat: unlink never follows a symlink, and a directory there fails with
 * EISDIR (Linux) or EPERM, which the caller reports for that path.
 */
async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Owner, then mode (a chown may clear set-id bits), then times, on an open descriptor. */
async function setMeta(fh: FileHandle, node: TreeNode, asRoot: boolean): Promise<void> {
  if (asRoot && node.uid !== undefined) await fh.chown(node.uid, node.gid ?? -1);
  await fh.chmod(node.mode);
  await fh.utimes(node.mtimeMs / 1000, node.mtimeMs / 1000);
}

/**
 * Sets a restored file's metadata without following a symlink at `path`
 * (ELOOP). `created`: the inode made while preparing; anything else found
 * there now (the file was replaced during the restore) is left untouched.
 * O_NONBLOCK so a FIFO planted there cannot hang the restore.
 */
export async function applyFileMeta(path: string, node: TreeNode, asRoot: boolean, created?: { dev: number; ino: number }): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (created !== undefined) {
      const st = await fh.stat();
      if (st.dev !== created.dev || st.ino !== created.ino) {
        throw new LifeboatError('RESTORE_UNSAFE_PATH', `${path} was replaced during the restore; its owner, mode and times were not set`);
      }
    }
    await setMeta(fh, node, asRoot);
  } finally {
    await fh.close();
  }
}

/**
 * Sets a restored directory's metadata; anything at `path` but a directory
 * fails, a symlink included (Linux answers O_DIRECTORY|O_NOFOLLOW on a
 * symlink with ENOTDIR, even when it points to a directory).
 */
export async function applyDirMeta(path: string, node: TreeNode, asRoot: boolean): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await setMeta(fh, node, asRoot);
  } finally {
    await fh.close();
  }
}
