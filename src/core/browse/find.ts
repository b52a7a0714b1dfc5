/**
 * `find`: which of a runbook's snapshots hold a path matching a glob, its
 * size and mtime in each, and where it appeared, changed, went and came back.
 *
 * Not the restore's walk (src/core/repo/snapshot-plan.ts) but one that
 * remembers, per folder listing and place, what matched below it: snapshots
 * of one runbook share most folders (an unchanged folder is the same tree
 * blob), so searching a hundred snapshots costs about one walk plus what
 * changed between them, not a hundred walks. Names are checked as a restore
 * checks them (assertSafeTree, through listing()).
 */
import { snapshotPathGlob } from '../repo/path-glob.js';
import { isLifeboatError, LifeboatError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { TreeNode } from '../repo/tree.js';
import { parseSize } from '../runbook/units.js';
import { compareNodes } from './compare.js';
import { entryOf, joinPath, type BrowseEntry } from './entry.js';
import { listing } from './locate.js';

/**
 * - present: in the first snapshot searched (what came before was not searched)
 * - added: absent from the snapshot before, never seen earlier
 * - unchanged, changed (content or kind), metadata (mode, owner or mtime only)
 * - deleted: held by the snapshot before, not by this one
 * - re-created: back after a snapshot without it
 */
export type FindChange = 'present' | 'added' | 'unchanged' | 'changed' | 'metadata' | 'deleted' | 're-created';

export interface FindSighting {
  snapshot: string;
  time: string;
  change: FindChange;
  /** The entry in this snapshot; absent when `change` is deleted. */
  entry?: BrowseEntry;
}

export interface FindMatch {
  path: string;
  /** One per snapshot that holds the path, and one for each snapshot it was deleted in; oldest first. */
  sightings: FindSighting[];
}

export interface SizeFilter {
  op: '>' | '<';
  bytes: number;
}

export interface FindFilters {
  size?: SizeFilter;
  /** Keep paths whose mtime is after this in at least one snapshot. */
  newer?: Date;
}

export interface FindOutcome {
  matches: FindMatch[];
  /** Folders whose listing could not be read (damage): their entries could not be searched. */
  unreadable: { snapshot: string; path: string }[];
}

/**
 * A glob on the path inside the snapshot (`source/dir/name`). A pattern
 * without a slash matches the name in any folder (`*.yaml`, `config.yaml`);
 * one with a slash matches the whole path (`data/etc/**`, `**\/etc/*.conf`).
 * Hidden names match like any other.
 */
export function pathMatcher(pattern: string, options: { ignoreCase?: boolean } = {}): (path: string) => boolean {
  return snapshotPathGlob(pattern, 'find: the pattern is empty (e.g. config.yaml, "*.conf", "data/etc/**")', options);
}

/** `+1MiB` or `>1MiB`: bigger than; `-10KiB` or `<10KiB`: smaller than. A bare number is bytes. */
export function parseSizeFilter(text: string): SizeFilter {
  const m = /^([+<>-])\s*(.+)$/.exec(text.trim());
  const expected = `--size ${text}: expected +SIZE or >SIZE (bigger than), -SIZE or <SIZE (smaller than), e.g. +1MiB, <10KiB`;
  if (!m) throw new LifeboatError('USAGE', expected);
  const op = m[1] === '+' || m[1] === '>' ? '>' : '<';
  const amount = m[2]!;
  if (/^\d+$/.test(amount)) return { op, bytes: Number(amount) };
  try {
    return { op, bytes: parseSize(amount) };
  } catch (e) {
    throw new LifeboatError('USAGE', `${expected} (${(e as Error).message})`);
  }
}

export async function findInSnapshots(
  repo: Repository,
  snapshots: readonly Snapshot[],
  matches: (path: string) => boolean,
  filters: FindFilters = {},
  signal?: AbortSignal,
): Promise<FindOutcome> {
  const unreadable: FindOutcome['unreadable'] = [];
  const found: Map<string, TreeNode>[] = [];
  const search = folderSearch(repo, matches, signal);
  for (const snapshot of snapshots) {
    const below = await search(snapshot.tree, '');
    found.push(new Map(below.matched));
    for (const path of below.unreadable) unreadable.push({ snapshot: snapshot.id, path });
  }
  const paths = [...new Set(found.flatMap((m) => [...m.keys()]))].sort(byCodeUnit);
  const out: FindMatch[] = [];
  for (const path of paths) {
    const sightings: FindSighting[] = [];
    let seen = false;
    snapshots.forEach((snapshot, i) => {
      const node = found[i]!.get(path);
      const before = i === 0 ? undefined : found[i - 1]!.get(path);
      const at = { snapshot: snapshot.id, time: snapshot.time };
      if (node) {
        const change: FindChange = i === 0 ? 'present' : before ? changeOf(compareNodes(before, node)) : seen ? 're-created' : 'added';
        sightings.push({ ...at, change, entry: entryOf(node, path) });
        seen = true;
      } else if (before) {
        sightings.push({ ...at, change: 'deleted' });
      }
    });
    if (sightings.some((s) => s.entry !== undefined && passes(s.entry, filters))) out.push({ path, sightings });
  }
  return { matches: out, unreadable };
}

interface Below {
  /** Matching entries below a folder, in walk order. */
  matched: [string, TreeNode][];
  /** Folders below whose listing could not be read. */
  unreadable: string[];
}

/** What matches below a folder listing at a place, each (listing, place) searched once. */
function folderSearch(repo: Repository, matches: (path: string) => boolean, signal?: AbortSignal): (treeId: string | undefined, rel: string) => Promise<Below> {
  const memo = new Map<string, Promise<Below>>();
  const search = (treeId: string | undefined, rel: string): Promise<Below> => {
    const key = `${treeId ?? ''}\0${rel}`;
    let result = memo.get(key);
    if (result === undefined) {
      result = walk(treeId, rel);
      memo.set(key, result);
    }
    return result;
  };
  const walk = async (treeId: string | undefined, rel: string): Promise<Below> => {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'find cancelled');
    const below: Below = { matched: [], unreadable: [] };
    let nodes: readonly TreeNode[];
    try {
      nodes = (await listing(repo, treeId, rel)).nodes;
    } catch (e) {
      // A damaged listing costs its folder, as in a restore; the root's is the whole snapshot.
      if (!isLifeboatError(e, 'REPO_CORRUPT') || rel === '') throw e;
      return { matched: [], unreadable: [rel] };
    }
    for (const node of nodes) {
      const path = joinPath(rel, node.name);
      if (matches(path)) below.matched.push([path, node]);
      if (node.type === 'dir') {
        const inner = await search(node.subtree, path);
        below.matched.push(...inner.matched);
        below.unreadable.push(...inner.unreadable);
      }
    }
    return below;
  };
  return search;
}

const changeOf = (d: ReturnType<typeof compareNodes>): FindChange => (d === 'same' ? 'unchanged' : d === 'metadata' ? 'metadata' : 'changed');

function passes(entry: BrowseEntry, filters: FindFilters): boolean {
  if (filters.size) {
    if (entry.size === undefined) return false;
    if (filters.size.op === '>' ? entry.size <= filters.size.bytes : entry.size >= filters.size.bytes) return false;
  }
  if (filters.newer && Date.parse(entry.mtime) <= filters.newer.getTime()) return false;
  return true;
}

/** Paths in one order everywhere, whatever the locale. */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
