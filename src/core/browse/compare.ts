/**
 * How one entry differs between two snapshots, the one rule find and diff
 * share. Content: a file's blobs (or size), a symlink's target, a folder's
 * listing. Metadata: permission bits, owner, and the mtime of files and
 * symlinks. A folder's own mtime is not compared: it moves whenever an entry
 * is added or removed, which the entries themselves already say.
 */
import type { TreeNode } from '../repo/tree.js';

export type Difference = 'same' | 'type' | 'content' | 'metadata';

export function compareNodes(a: TreeNode, b: TreeNode): Difference {
  if (a.type !== b.type) return 'type';
  if (a.type === 'file' && ((a.size ?? 0) !== (b.size ?? 0) || (a.content ?? []).join() !== (b.content ?? []).join())) return 'content';
  if (a.type === 'symlink' && a.target !== b.target) return 'content';
  if (a.type === 'dir' && a.subtree !== b.subtree) return 'content';
  const sameMeta = a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && (a.type === 'dir' || Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs));
  return sameMeta ? 'same' : 'metadata';
}
