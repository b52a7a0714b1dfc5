/**
 * Trees: one directory listing per blob, sorted by name, JSON-encoded. A
 * directory's node points at its subtree's blob id, a file's at its content
 * blob ids in order. Equal directories encode to equal bytes, so an unchanged
 * directory deduplicates to the same tree blob.
 */
import { LifeboatError } from '../errors.js';

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  name: string;
  type: NodeType;
  /** Permission bits (and setuid/setgid/sticky), without the file type bits. */
  mode: number;
  mtimeMs: number;
  /** ctime and inode drive the parent fast path; they are not restored. */
  ctimeMs?: number;
  inode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  content?: string[];
  subtree?: string;
  target?: string;
}

export interface Tree {
  nodes: TreeNode[];
}

export function encodeTree(tree: Tree): Buffer {
  return Buffer.from(JSON.stringify(tree));
}

export function decodeTree(bytes: Buffer, id: string): Tree {
  let tree: Tree;
  try {
    tree = JSON.parse(bytes.toString('utf8')) as Tree;
  } catch {
    throw new LifeboatError('REPO_CORRUPT', `tree ${id.slice(0, 12)} is not valid JSON`);
  }
  if (!Array.isArray(tree.nodes)) throw new LifeboatError('REPO_CORRUPT', `tree ${id.slice(0, 12)} has no node list`);
  return tree;
}

/**
 * A name is safe to create inside a restore target only when it is exactly one
 * path component: not empty, not `.` or `..`, no slash, no NUL.
 */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** Refuse trees that a malicious or damaged repository could use to escape a restore target. */
export function assertSafeTree(tree: Tree, where: string): void {
  const seen = new Set<string>();
  for (const node of tree.nodes) {
    if (!isSafeName(node.name)) {
      throw new LifeboatError('RESTORE_UNSAFE_PATH', `refusing to restore ${JSON.stringify(node.name)} in ${where || '/'}: not a plain file name (would escape the target)`);
    }
    if (seen.has(node.name)) {
      throw new LifeboatError('RESTORE_UNSAFE_PATH', `refusing to restore ${where}/${node.name}: the name appears twice in one directory`);
    }
    seen.add(node.name);
  }
}
