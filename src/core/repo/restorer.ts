/**
 * Restore of a snapshot (or a path inside it) into a target folder.
 *
 * Plan on the main thread (walk trees, create directories, group the needed
 * blobs by pack), then read packs in spans and let the workers decrypt, verify
 * and write. Safety: every tree is checked for names that could escape the
 * target; directories that already exist must be real directories; whatever
 * sits at a file's path is unlinked and the file created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink or hard link planted there (before
 * or during the restore) fails that one file instead of being written
 * through; owner, mode and times are set on descriptors opened with
 * O_NOFOLLOW (fchown/fchmod/futimes), never through a path that could follow
 * a symlink; symlinks are created last and only touched with lchown/lutimes.
 */
import { constants } from 'node:fs';
import { lchown, lstat, lutimes, mkdir, open, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { BlobLocation } from './format.js';
import { mapLimit, type Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';
import { assertSafeTree, isSafeName, type TreeNode } from './tree.js';
import { WorkerPool, localPackPath } from './worker-pool.js';
import type { RestoreBlobJob, RestoreTarget } from './worker-protocol.js';

export interface RestoreInput {
  repo: Repository;
  snapshot: Snapshot;
  target: string;
  /** A path inside the snapshot (`source/dir/file`); restored at the same relative path under the target. */
  subPath?: string;
  signal?: AbortSignal;
  workers?: number;
  onProgress?: (p: RestoreProgress) => void;
  /** Phase boundaries for drills: planning done (folders made, blobs located), last pack fetched. */
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

interface PlannedBlob {
  loc: BlobLocation;
  targets: RestoreTarget[];
}

interface FileMeta {
  path: string;
  node: TreeNode;
}

/** A multi-blob file as created while planning: its metadata goes only to that same inode. */
interface CreatedFile extends FileMeta {
  dev: number;
  ino: number;
}

/** Blobs in one pack closer than this are read in one request rather than two. */
const SPAN_GAP = 1024 * 1024;
const SPAN_MAX = 8 * 1024 * 1024;

export async function restoreSnapshot(input: RestoreInput): Promise<RestoreOutcome> {
  const { repo, target, signal } = input;
  const asRoot = process.getuid?.() === 0;
  const failed: RestoreOutcome['failed'] = [];
  const outcome: RestoreOutcome = { files: 0, bytes: 0, totalFiles: 0, totalBytes: 0, dirs: 0, symlinks: 0, packsRead: 0, bytesFetched: 0, failed };
  const byPack = new Map<string, Map<string, PlannedBlob>>();
  const multiBlobFiles: CreatedFile[] = [];
  const dirsToFinish: FileMeta[] = [];
  const symlinks: FileMeta[] = [];

  await mkdir(target, { recursive: true });

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

  function need(loc: BlobLocation, t: RestoreTarget): void {
    let blobs = byPack.get(loc.pack);
    if (!blobs) byPack.set(loc.pack, (blobs = new Map()));
    const planned = blobs.get(loc.id);
    if (planned) planned.targets.push(t);
    else blobs.set(loc.id, { loc, targets: [t] });
  }

  /**
   * `fresh`: the folder was just created by this restore. Otherwise whatever
   * already sits at `path` is removed first: writing in place would follow a
   * symlink (refused by O_NOFOLLOW, failing the file) or write through a hard
   * link into a file outside the target.
   */
  async function planFile(path: string, node: TreeNode, fresh: boolean): Promise<void> {
    outcome.totalFiles++;
    outcome.totalBytes += node.size ?? 0;
    const content = node.content ?? [];
    const locs: BlobLocation[] = [];
    for (const id of content) {
      const loc = repo.index.lookup(id);
      if (!loc) {
        failed.push({ path, error: `blob ${id.slice(0, 12)} is missing from the repository index` });
        return;
      }
      locs.push(loc);
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

  async function planDir(path: string, treeId: string, rel: string, fresh: boolean): Promise<void> {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
    let tree;
    try {
      tree = await repo.loadTree(treeId);
    } catch (e) {
      // A damaged listing costs its folder, not the whole restore (like a damaged file).
      if (rel === '' || !isLifeboatError(e, 'REPO_CORRUPT')) throw e;
      failed.push({ path, error: `folder listing: ${e.message}` });
      return;
    }
    assertSafeTree(tree, rel);
    for (const node of tree.nodes) {
      await planNode(join(path, node.name), node, rel === '' ? node.name : `${rel}/${node.name}`, fresh);
    }
  }

  async function planNode(path: string, node: TreeNode, rel: string, parentFresh: boolean): Promise<void> {
    if (node.type === 'dir') {
      const created = await ensureDir(path);
      outcome.dirs++;
      if (node.subtree) await planDir(path, node.subtree, rel, created);
      dirsToFinish.push({ path, node });
    } else if (node.type === 'file') {
      await planFile(path, node, parentFresh);
    } else if (node.type === 'symlink') {
      symlinks.push({ path, node });
    }
  }

  // Find the restore root, creating the parents of a sub-path on the way.
  let root = await repo.loadTree(input.snapshot.tree);
  assertSafeTree(root, '');
  const parts = (input.subPath ?? '').split('/').filter((p) => p !== '' && p !== '.');
  let path = target;
  let rel = '';
  if (parts.length === 0) {
    await planDir(target, input.snapshot.tree, '', false);
  } else {
    for (const [i, part] of parts.entries()) {
      if (!isSafeName(part)) throw new LifeboatError('USAGE', `--path ${input.subPath}: "${part}" is not a plain path component`);
      const node = root.nodes.find((n) => n.name === part);
      if (!node) throw new LifeboatError('USAGE', `--path ${input.subPath}: "${[...parts.slice(0, i), part].join('/')}" is not in snapshot ${input.snapshot.id.slice(0, 8)}`);
      path = join(path, part);
      rel = rel === '' ? part : `${rel}/${part}`;
      if (i === parts.length - 1) {
        await planNode(path, node, rel, false);
      } else {
        if (node.type !== 'dir' || !node.subtree) throw new LifeboatError('USAGE', `--path ${input.subPath}: "${rel}" is not a directory`);
        await ensureDir(path);
        root = await repo.loadTree(node.subtree);
        assertSafeTree(root, rel);
      }
    }
  }

  // Fetch and write, pack by pack, in spans.
  const pool = new WorkerPool(repo, { workers: input.workers });
  try {
    const spans: { pack: string; offset: number; length: number; blobs: PlannedBlob[] }[] = [];
    for (const [pack, blobs] of [...byPack.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...blobs.values()].sort((a, b) => a.loc.offset - b.loc.offset);
      let span: (typeof spans)[number] | undefined;
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
    outcome.packsRead = byPack.size;
    input.onMilestone?.('planned', outcome);
    let fetchesLeft = spans.length;
    if (fetchesLeft === 0) input.onMilestone?.('fetched', outcome);
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
        input.onProgress?.(outcome);
      };
      const path = localPackPath(repo.backend, span.pack);
      const fromFile = path === undefined ? undefined : await pool.restoreFromFile(span.pack, { path, offset: span.offset, length: span.length }, jobs, asRoot);
      if (fromFile) {
        outcome.bytesFetched += span.length;
        if (--fetchesLeft === 0) input.onMilestone?.('fetched', outcome);
        done(fromFile);
        return;
      }
      // Not local, or the worker could not read it: the backend loads it (and reports why it cannot).
      let data: Buffer;
      try {
        data = await repo.backend.load({ kind: 'data', name: span.pack }, { offset: span.offset, length: span.length });
      } catch (e) {
        for (const b of span.blobs) for (const t of b.targets) failed.push({ path: t.path, error: `pack ${span.pack.slice(0, 12)}: ${(e as Error).message}` });
        if (--fetchesLeft === 0) input.onMilestone?.('fetched', outcome);
        return;
      }
      outcome.bytesFetched += data.length;
      if (--fetchesLeft === 0) input.onMilestone?.('fetched', outcome);
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
  input.onProgress?.(outcome);
  return outcome;
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
 * (ELOOP). `created`: the inode made while planning; anything else found
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
