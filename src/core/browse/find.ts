/**
 * `find`: which of a runbook's snapshots hold a path matching a glob, its
 * size and mtime in each, and where it appeared, changed, went and came back.
 * Each snapshot is walked with the restore's own walk
 * (src/core/repo/snapshot-plan.ts); its trees come through the repository's
 * tree cache, so folders the snapshots share are read once.
 */
import picomatch from 'picomatch';
import { LifeboatError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import { planSnapshot, type PlannedNode } from '../repo/snapshot-plan.js';
import type { TreeNode } from '../repo/tree.js';
import { parseSize } from '../runbook/units.js';
import { compareNodes } from './compare.js';
import { entryOf, type BrowseEntry } from './entry.js';

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
  const glob = pattern.replace(/^\/+/, '');
  if (glob === '') throw new LifeboatError('USAGE', 'find: the pattern is empty (e.g. config.yaml, "*.conf", "data/etc/**")');
  return picomatch(glob, { dot: true, basename: !glob.includes('/'), nocase: options.ignoreCase === true });
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
  for (const snapshot of snapshots) {
    const plan = await planSnapshot(repo, snapshot, { signal });
    const here = new Map<string, TreeNode>();
    const visit = (nodes: readonly PlannedNode[]) => {
      for (const n of nodes) {
        if (matches(n.rel)) here.set(n.rel, n.node);
        if (n.kind === 'dir') visit(n.children);
      }
    };
    visit(plan.entries);
    found.push(here);
    for (const d of plan.unreadable) unreadable.push({ snapshot: snapshot.id, path: d.rel });
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
