/**
 * A path inside a snapshot, resolved one folder listing at a time (no walk of
 * what lies below). The snapshot's root is a folder whose entries are the
 * sources. Every listing read is checked like a restore checks it
 * (assertSafeTree), so a name that could not be restored is not shown either.
 */
import { LifeboatError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import { shortId, type Snapshot } from '../repo/snapshot.js';
import { assertSafeTree, isSafeName, type Tree, type TreeNode } from '../repo/tree.js';

/** `/data//etc/` → `['data', 'etc']`; `''`, `/` and `.` are the root. */
export function pathParts(path: string | undefined): string[] {
  return (path ?? '').split('/').filter((p) => p !== '' && p !== '.');
}

export interface Located {
  /** '' for the root. */
  path: string;
  /** The root is a folder without a node of its own. */
  node: TreeNode | undefined;
  /** The folder's listing id (the root's, or a folder node's subtree); undefined for files and symlinks. */
  subtree: string | undefined;
}

/** The entry at `path`, or undefined when the snapshot has none there. A non-folder on the way is "none there" too. */
export async function locate(repo: Repository, snapshot: Snapshot, path: string | undefined): Promise<Located | undefined> {
  const parts = pathParts(path);
  for (const part of parts) {
    if (!isSafeName(part) || part === '..') throw new LifeboatError('USAGE', `"${path}": "${part}" is not a plain path component`);
  }
  let here: Located = { path: '', node: undefined, subtree: snapshot.tree };
  for (const part of parts) {
    if (here.subtree === undefined) return undefined;
    const node = (await listing(repo, here.subtree, here.path)).nodes.find((n) => n.name === part);
    if (!node) return undefined;
    const at = here.path === '' ? part : `${here.path}/${part}`;
    here = { path: at, node, subtree: node.type === 'dir' ? node.subtree : undefined };
  }
  return here;
}

/** locate, refusing a path the snapshot does not hold (USAGE, with the snapshot named). */
export async function locateOrRefuse(repo: Repository, snapshot: Snapshot, path: string | undefined): Promise<Located> {
  const found = await locate(repo, snapshot, path);
  if (!found) throw new LifeboatError('USAGE', `${pathParts(path).join('/')} is not in snapshot ${shortId(snapshot.id)} (${snapshot.time})`, { details: { snapshot: snapshot.id, path } });
  return found;
}

/** A folder listing, checked (a folder node without a subtree is an empty folder); `repo` may be anything that loads trees (diff's read-ahead). */
export async function listing(repo: Pick<Repository, 'loadTree'>, treeId: string | undefined, where: string): Promise<Tree> {
  if (treeId === undefined) return { nodes: [] };
  const tree = await repo.loadTree(treeId);
  assertSafeTree(tree, where);
  return tree;
}
