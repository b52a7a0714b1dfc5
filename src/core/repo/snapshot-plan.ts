/**
 * The one walk of a snapshot's trees (or of a path in it), made once and
 * shared by everything that restores it: the restorer writes from it
 * (restore-writer.ts), a cold restore thaws the packs it names
 * (src/core/tier/restore-plan.ts, src/core/tier/thaw-restore.ts), and a
 * drill validates the files it lists (src/core/drill/restore-drill.ts). A cold
 * drill used to walk the same trees three times.
 *
 * It reads folder listings (tree blobs, through the repository's tree cache)
 * and looks content blobs up in the index; it touches no target. Names are
 * checked here (assertSafeTree, plain sub-path components), so a snapshot
 * that could escape its target is refused before anything is written.
 */
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { BlobLocation } from './format.js';
import { LocalBlobReader } from './local-blob-reader.js';
import type { Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';
import { readTreesAhead } from './tree-read-ahead.js';
import { assertSafeTree, isSafeName, type TreeNode } from './tree.js';

interface Planned {
  /** Path inside the snapshot (`source/dir/file`); the same path below the target. */
  rel: string;
  node: TreeNode;
}

export interface PlannedFile extends Planned {
  kind: 'file';
  /** Where each content blob lives, in order; blobs the index does not know are left out and named in `missing`. */
  locs: BlobLocation[];
  /** Content blob ids the index does not know: the file cannot be restored. */
  missing?: string[];
}

export interface PlannedDir extends Planned {
  kind: 'dir';
  children: PlannedNode[];
  /**
   * The folder's listing could not be read (REPO_CORRUPT): it costs this
   * folder, not the whole restore, as a damaged file costs only itself.
   */
  listingError?: LifeboatError;
}

export interface PlannedSymlink extends Planned {
  kind: 'symlink';
}

export type PlannedNode = PlannedFile | PlannedDir | PlannedSymlink;

export interface SnapshotPlan {
  snapshot: Snapshot;
  subPath?: string;
  /** The folders above a sub-path, outermost first: made on the way; their own metadata is not restored. */
  parents: string[];
  /** What lands in the target: the snapshot root's entries, or the one entry the sub-path names. */
  entries: PlannedNode[];
  /** Every file below `entries`, in walk order. */
  files: PlannedFile[];
  /** Plaintext bytes of `files`. */
  fileBytes: number;
  /** Folders whose listing could not be read, in walk order. */
  unreadable: PlannedDir[];
}

/**
 * Walks `snapshot` (or `subPath` in it) depth-first in tree order. A sub-path
 * that is not in the snapshot, or not a folder where one is needed, is a
 * USAGE error; an unsafe name is RESTORE_UNSAFE_PATH.
 */
export async function planSnapshot(
  repo: Repository,
  snapshot: Snapshot,
  options: { subPath?: string; signal?: AbortSignal } = {},
): Promise<SnapshotPlan> {
  const { subPath, signal } = options;
  const files: PlannedFile[] = [];
  const unreadable: PlannedDir[] = [];
  let fileBytes = 0;

  const fileOf = (node: TreeNode, rel: string): PlannedFile => {
    // One array of exactly the content's length: an array grown by push from empty reserves
    // 17 slots (~150 bytes), and the 50k-file tree's plan kept one per file (~7 MiB).
    const content = node.content ?? [];
    const found = content.map((id) => repo.index.lookup(id));
    // The plan keeps both the node and the blobs' index entries, each with its own copy of every
    // id (parsed from the tree, and from the index): the node takes the index's string instead, the
    // same characters (~4 MiB of the 50k-file tree restore's heap).
    found.forEach((loc, i) => {
      if (loc !== undefined) content[i] = loc.id;
    });
    let missing: string[] | undefined;
    let locs = found as BlobLocation[];
    if (found.includes(undefined)) {
      missing = content.filter((_, i) => found[i] === undefined);
      locs = found.filter((loc): loc is BlobLocation => loc !== undefined);
    }
    const file: PlannedFile = missing === undefined ? { kind: 'file', rel, node, locs } : { kind: 'file', rel, node, locs, missing };
    files.push(file);
    fileBytes += node.size ?? 0;
    return file;
  };

  const entryOf = async (node: TreeNode, rel: string): Promise<PlannedNode | undefined> => {
    if (node.type === 'file') return fileOf(node, rel);
    if (node.type === 'symlink') return { kind: 'symlink', rel, node };
    if (node.type !== 'dir') return undefined;
    const dir: PlannedDir = { kind: 'dir', rel, node, children: [] };
    if (node.subtree === undefined) return dir;
    try {
      dir.children = await listing(node.subtree, rel);
    } catch (e) {
      if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
      dir.listingError = e;
      unreadable.push(dir);
    }
    return dir;
  };

  async function listing(treeId: string, rel: string): Promise<PlannedNode[]> {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
    const tree = local?.tree(treeId) ?? (await repo.loadTree(treeId));
    assertSafeTree(tree, rel);
    const entries: PlannedNode[] = [];
    for (const node of tree.nodes) {
      const entry = await entryOf(node, rel === '' ? node.name : `${rel}/${node.name}`);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  const parts = (subPath ?? '').split('/').filter((p) => p !== '' && p !== '.');
  const parents: string[] = [];
  let entries: PlannedNode[];
  // A local repository's listings are read with one pread each from open pack files, checked as
  // loadTree checks them (LocalBlobReader), not four libuv round trips each: /usr/share's 2,929
  // folders are ~0.3 s of the restore's serial start. Any that does not read that way is loaded as before.
  const local = LocalBlobReader.for(repo);
  try {
    if (parts.length === 0) {
      // The root listing is the restore itself: when it cannot be read there is nothing to restore.
      // From a remote store the trees are read a level at a time first, not one request each.
      await readTreesAhead(repo, snapshot.tree, { signal });
      entries = await listing(snapshot.tree, '');
    } else {
      let tree = await repo.loadTree(snapshot.tree);
      assertSafeTree(tree, '');
      let rel = '';
      entries = [];
      for (const [i, part] of parts.entries()) {
        if (!isSafeName(part)) throw new LifeboatError('USAGE', `--path ${subPath}: "${part}" is not a plain path component`);
        const node = tree.nodes.find((n) => n.name === part);
        if (!node) throw new LifeboatError('USAGE', `--path ${subPath}: "${[...parts.slice(0, i), part].join('/')}" is not in snapshot ${snapshot.id.slice(0, 8)}`);
        rel = rel === '' ? part : `${rel}/${part}`;
        if (i === parts.length - 1) {
          const entry = await entryOf(node, rel);
          if (entry !== undefined) entries.push(entry);
        } else {
          if (node.type !== 'dir' || !node.subtree) throw new LifeboatError('USAGE', `--path ${subPath}: "${rel}" is not a directory`);
          parents.push(rel);
          tree = await repo.loadTree(node.subtree);
          assertSafeTree(tree, rel);
        }
      }
    }
  } finally {
    local?.close();
  }
  return { snapshot, ...(subPath === undefined ? {} : { subPath }), parents, entries, files, fileBytes, unreadable };
}
