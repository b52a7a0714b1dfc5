/**
 * `diff`: what changed between two snapshots (or one path in them). Both
 * trees are walked together; a folder whose listing is the same blob in both
 * is skipped whole, so the cost is that of what changed. Everything inside an
 * added or removed folder is listed, since "the folder someone deleted" is
 * most often asked about for the files that were in it.
 */
import { LifeboatError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import { shortId, type Snapshot } from '../repo/snapshot.js';
import { compareNodes } from './compare.js';
import { entryOf, joinPath, type BrowseEntry } from './entry.js';
import { byCodeUnit } from './find.js';
import { listing, locate } from './locate.js';
import type { Tree, TreeNode } from '../repo/tree.js';

export type DiffKind = 'added' | 'removed' | 'changed' | 'metadata';

export interface DiffChange {
  change: DiffKind;
  path: string;
  /** The entry in the older snapshot (removed, changed, metadata). */
  before?: BrowseEntry;
  /** The entry in the newer snapshot (added, changed, metadata). */
  after?: BrowseEntry;
}

export interface DiffTotals {
  count: number;
  /** Bytes of the files counted: added or removed bytes; for changed files the size after minus the size before. */
  bytes: number;
}

export interface SnapshotDiff {
  path: string;
  changes: DiffChange[];
  totals: Record<DiffKind, DiffTotals>;
}

export async function diffSnapshots(repo: Repository, from: Snapshot, to: Snapshot, path?: string, signal?: AbortSignal): Promise<SnapshotDiff> {
  const [a, b] = await Promise.all([locate(repo, from, path), locate(repo, to, path)]);
  if (!a && !b) throw new LifeboatError('USAGE', `${path} is in neither snapshot ${shortId(from.id)} nor ${shortId(to.id)}`);
  const at = (a ?? b)!.path;
  const changes: DiffChange[] = [];
  // Listings come from loads started ahead of the walk where there is one (checked by listing() as ever).
  const ahead = treesAhead(repo);
  const emit = (change: DiffKind, p: string, before?: TreeNode, after?: TreeNode) =>
    changes.push({ change, path: p, ...(before ? { before: entryOf(before, p) } : {}), ...(after ? { after: entryOf(after, p) } : {}) });

  /** Everything below a folder that only one side has, as added or removed. */
  const wholeFolder = async (treeId: string | undefined, rel: string, side: 'added' | 'removed') => {
    for (const node of (await listing(ahead, treeId, rel)).nodes) {
      const p = joinPath(rel, node.name);
      if (side === 'added') emit('added', p, undefined, node);
      else emit('removed', p, node);
      if (node.type === 'dir') await wholeFolder(node.subtree, p, side);
    }
  };

  const folders = async (before: string | undefined, after: string | undefined, rel: string) => {
    if (before === after) return;
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'diff cancelled');
    const [x, y] = await Promise.all([listing(ahead, before, rel), listing(ahead, after, rel)]);
    const olds = new Map(x.nodes.map((n) => [n.name, n]));
    const news = new Map(y.nodes.map((n) => [n.name, n]));
    const names = [...new Set([...olds.keys(), ...news.keys()])].sort(byCodeUnit);
    // The walk awaits one listing at a time; the listings its next entries will need load meanwhile.
    const subtrees = (name: string): (string | undefined)[] => {
      const o = olds.get(name);
      const n = news.get(name);
      const before = o?.type === 'dir' ? o.subtree : undefined;
      const after = n?.type === 'dir' ? n.subtree : undefined;
      return before === after ? [] : [before, after];
    };
    names.slice(0, LOOK_AHEAD).forEach((name) => ahead.start(subtrees(name)));
    for (const [i, name] of names.entries()) {
      const next = names[i + LOOK_AHEAD];
      if (next !== undefined) ahead.start(subtrees(next));
      await entry(olds.get(name), news.get(name), joinPath(rel, name));
    }
  };

  const entry = async (before: TreeNode | undefined, after: TreeNode | undefined, p: string) => {
    if (before && after) {
      const d = compareNodes(before, after);
      if (d === 'metadata') emit('metadata', p, before, after);
      if (d === 'content' && before.type === 'dir') {
        if (compareNodes({ ...before, subtree: after.subtree }, after) === 'metadata') emit('metadata', p, before, after);
        await folders(before.subtree, after.subtree, p);
        return;
      }
      if (d === 'content' || d === 'type') emit('changed', p, before, after);
      if (d === 'type') {
        if (before.type === 'dir') await wholeFolder(before.subtree, p, 'removed');
        if (after.type === 'dir') await wholeFolder(after.subtree, p, 'added');
      }
      return;
    }
    if (before) {
      emit('removed', p, before);
      if (before.type === 'dir') await wholeFolder(before.subtree, p, 'removed');
    } else if (after) {
      emit('added', p, undefined, after);
      if (after.type === 'dir') await wholeFolder(after.subtree, p, 'added');
    }
  };

  if (at === '') await folders(from.tree, to.tree, '');
  else await entry(a?.node, b?.node, at);
  return { path: at, changes, totals: totalsOf(changes) };
}

/**
 * How many entries of a folder ahead of the walk get their listings loaded.
 * The walk is depth-first, so at most this many loads per folder level are
 * under way: enough to keep the reads (each an open, a read and a close on
 * the thread pool) from idling the main thread, few enough to stay far from
 * any open-file limit.
 */
const LOOK_AHEAD = 8;

/**
 * Tree loads started before the walk asks for them. A load is taken once
 * (then forgotten, so a long diff holds no more than the window); one that is
 * never taken — the walk stopped at an error or a cancel — fails quietly.
 * A failed load fails the walk when, and where, it is taken, as before.
 */
function treesAhead(repo: Repository): { start(ids: readonly (string | undefined)[]): void; loadTree(id: string): Promise<Tree> } {
  const started = new Map<string, Promise<Tree>>();
  return {
    start(ids) {
      for (const id of ids) {
        if (id === undefined || started.has(id)) continue;
        const load = repo.loadTree(id);
        load.catch(() => undefined);
        started.set(id, load);
      }
    },
    loadTree(id) {
      const load = started.get(id);
      if (load === undefined) return repo.loadTree(id);
      started.delete(id);
      return load;
    },
  };
}

function totalsOf(changes: readonly DiffChange[]): Record<DiffKind, DiffTotals> {
  const totals: Record<DiffKind, DiffTotals> = { added: zero(), removed: zero(), changed: zero(), metadata: zero() };
  for (const c of changes) {
    const t = totals[c.change];
    t.count++;
    if (c.change === 'added') t.bytes += c.after?.size ?? 0;
    if (c.change === 'removed') t.bytes += c.before?.size ?? 0;
    if (c.change === 'changed') t.bytes += (c.after?.size ?? 0) - (c.before?.size ?? 0);
  }
  return totals;
}

const zero = (): DiffTotals => ({ count: 0, bytes: 0 });
