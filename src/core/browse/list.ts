/**
 * `ls`: the entries of one folder of a snapshot (or one file), or with
 * `recursive` everything below it. The recursive listing is the restore's own
 * walk (src/core/repo/snapshot-plan.ts), so what ls shows is what a restore of
 * that path would write.
 */
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import { planSnapshot, type PlannedNode } from '../repo/snapshot-plan.js';
import { entryOf, joinPath, type BrowseEntry } from './entry.js';
import { listing, locateOrRefuse } from './locate.js';

export interface Listing {
  /** The folder (or file) listed, '' for the snapshot's root. */
  path: string;
  entries: BrowseEntry[];
  /** Folders below whose listing could not be read (damage), by path. */
  unreadable: string[];
}

export async function listSnapshotPath(repo: Repository, snapshot: Snapshot, path: string | undefined, options: { recursive?: boolean; signal?: AbortSignal } = {}): Promise<Listing> {
  const at = await locateOrRefuse(repo, snapshot, path);
  if (at.node !== undefined && at.node.type !== 'dir') return { path: at.path, entries: [entryOf(at.node, at.path)], unreadable: [] };
  if (!options.recursive) {
    const tree = await listing(repo, at.subtree, at.path);
    return { path: at.path, entries: tree.nodes.map((n) => entryOf(n, joinPath(at.path, n.name))), unreadable: [] };
  }
  const plan = await planSnapshot(repo, snapshot, { ...(at.path === '' ? {} : { subPath: at.path }), signal: options.signal });
  // Below a sub-path the plan's one entry is the folder itself: list what is in it.
  const top = at.path === '' ? plan.entries : plan.entries.flatMap((e) => (e.kind === 'dir' ? e.children : []));
  const entries: BrowseEntry[] = [];
  const visit = (nodes: readonly PlannedNode[]) => {
    for (const n of nodes) {
      entries.push(entryOf(n.node, n.rel));
      if (n.kind === 'dir') visit(n.children);
    }
  };
  visit(top);
  return { path: at.path, entries, unreadable: plan.unreadable.map((d) => d.rel) };
}
