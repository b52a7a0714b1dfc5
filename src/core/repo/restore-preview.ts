/**
 * What a restore would do to its target, decided before anything is written:
 * each planned entry is created, replaced or skipped under the overwrite
 * policy, and with `delete` each entry of the target the snapshot lacks is
 * listed for removal. The writer (restore-writer.ts) follows these decisions;
 * `--dry-run` prints them; a restore without a policy is refused when the
 * target already holds any path it would write (restorer.ts), so a restore
 * never replaces a file nobody said it may replace.
 *
 * It reads the target with lstat and readdir only (never following a
 * symlink), and with `if-changed` reads same-size files to hash them (the
 * caller's `hash`: the repository's chunker and blob ids, so "unchanged"
 * means the same content ids the snapshot records).
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { LifeboatError } from '../errors.js';
import type { PathFilter } from './restore-filter.js';
import type { PlannedDir, PlannedFile, PlannedNode, SnapshotPlan } from './snapshot-plan.js';

/**
 * What to do with a path the target already holds:
 * - `never`: keep it (skip);
 * - `if-newer`: replace it when the snapshot's mtime is later than its own;
 * - `if-changed`: replace it when its type, size or content differs from the
 *   snapshot's (content compared by hashing when the sizes are equal: an
 *   edited file with its mtime kept is still found changed);
 * - `always`: replace it.
 */
export type OverwritePolicy = 'never' | 'if-newer' | 'if-changed' | 'always';
export const overwritePolicies: readonly OverwritePolicy[] = ['never', 'if-newer', 'if-changed', 'always'];

export type RestoreAction =
  /** Nothing is at the path: it is created. */
  | 'create'
  /** Something is at the path and the policy replaces it. */
  | 'replace'
  /** Something is at the path and the policy keeps it. */
  | 'skip'
  /** Something is at the path and no policy was given: the restore is refused (a dry run shows it). */
  | 'conflict'
  /** Something is at the path that a restore never removes to write there (a folder where the snapshot has a file): that path fails. */
  | 'refuse'
  /** In the target, not in the snapshot: removed (only with `delete`). */
  | 'delete';

export interface RestoreChange {
  /** Path under the target (the path inside the snapshot). */
  rel: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  action: RestoreAction;
  /** Why it is replaced, skipped, refused or in conflict. */
  reason?: string;
}

export interface RestorePreview {
  policy?: OverwritePolicy;
  /** Entries of the plan that already exist in the target (not counting folders merged into), by rel. Absent from the map: created. */
  existing: Map<string, RestoreChange>;
  /** With `delete`: what the target holds that the snapshot lacks, outermost only (a folder's contents go with it). */
  deletions: RestoreChange[];
  /**
   * Every change in plan order, then the deletions: what a dry run prints. Folders only when
   * replaced or refused; what is created only when `listCreated` was asked (counted either way).
   */
  changes: RestoreChange[];
  counts: Record<RestoreAction, number>;
}

/** Chunks and hashes files with the repository's keys: content ids as the snapshot records them. */
export type HashFiles = (files: { path: string; size: number }[]) => Promise<{ content: string[]; size: number; error?: string }[]>;

export interface PreviewOptions {
  overwrite?: OverwritePolicy;
  /** List what the target holds that the snapshot lacks. */
  delete?: boolean;
  /** The filter the plan was filtered with: a `delete` leaves alone what it does not select. */
  filter?: PathFilter;
  /** Needed for `if-changed`. */
  hash?: HashFiles;
  /**
   * List each entry nothing in the target is in the way of (`create`) in `changes`, as a dry run
   * prints them; default true. A restore that writes passes false: nothing reads those entries
   * (it reports only what the target held), and into an empty target they were one object per
   * file, ~3 MiB of the 50k-file tree restore's heap kept until it ended.
   */
  listCreated?: boolean;
  signal?: AbortSignal;
}

const kindOf = (st: Stats): RestoreChange['kind'] => (st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other');

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function previewRestore(plan: SnapshotPlan, target: string, options: PreviewOptions = {}): Promise<RestorePreview> {
  const policy = options.overwrite;
  const existing = new Map<string, RestoreChange>();
  const changes: RestoreChange[] = [];
  const deletions: RestoreChange[] = [];
  /** if-changed: same-size regular files, decided once hashed. */
  const toHash: { change: RestoreChange; file: PlannedFile; path: string }[] = [];
  /** Folders that exist and are merged into: where a `delete` looks. */
  const merged: PlannedDir[] = [];
  const created = { listed: options.listCreated !== false, unlisted: 0 };

  const decide = (entry: PlannedNode, st: Stats): RestoreChange => {
    const kind = kindOf(st);
    const change: RestoreChange = { rel: entry.rel, kind: entry.kind, action: 'conflict' };
    const there = kind === 'other' ? 'something that is not a file' : `a ${kind === 'dir' ? 'folder' : kind}`;
    if (entry.kind !== 'dir' && kind === 'dir') {
      if (policy === 'never') return { ...change, action: 'skip', reason: 'a folder is there' };
      return { ...change, action: policy === undefined ? 'conflict' : 'refuse', reason: `a folder is there; a restore never removes a folder to put a ${entry.kind} in its place` };
    }
    if (policy === undefined) return { ...change, reason: `${there} is there` };
    if (policy === 'never') return { ...change, action: 'skip', reason: `${there} is there (--overwrite never)` };
    if (policy === 'always') return { ...change, action: 'replace', reason: `${there} is there (--overwrite always)` };
    if (policy === 'if-newer') {
      return entry.node.mtimeMs > st.mtimeMs
        ? { ...change, action: 'replace', reason: 'newer in the snapshot' }
        : { ...change, action: 'skip', reason: st.mtimeMs === entry.node.mtimeMs ? 'same mtime as in the snapshot' : 'newer in the target' };
    }
    // if-changed
    if (kind !== entry.kind) return { ...change, action: 'replace', reason: `${there} is there, a ${entry.kind} in the snapshot` };
    if (entry.kind === 'file' && st.size !== (entry.node.size ?? 0)) return { ...change, action: 'replace', reason: `size differs: ${st.size} bytes, ${entry.node.size ?? 0} in the snapshot` };
    // Same-size files are hashed below; symlinks compared by target below.
    return { ...change, action: 'skip' };
  };

  const walk = async (entry: PlannedNode): Promise<void> => {
    if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
    const path = join(target, entry.rel);
    const st = await lstatOrUndefined(path);
    if (st === undefined) {
      listCreated(entry, changes, created);
      return;
    }
    if (entry.kind === 'dir') {
      // Whatever the policy: a symlink here could lead the restore outside the target (restore-writer.ts ensureDir
      // refuses the same), and a file here is not what anyone restoring into this folder expects to lose.
      if (!st.isDirectory()) throw new LifeboatError('RESTORE_UNSAFE_PATH', `refusing to restore into ${path}: it exists and is not a directory (a symlink could lead outside the target)`);
      merged.push(entry);
      for (const child of entry.children) await walk(child);
      return;
    }
    const change = decide(entry, st);
    existing.set(entry.rel, change);
    changes.push(change);
    if (policy === 'if-changed' && change.action === 'skip' && change.reason === undefined) {
      if (entry.kind === 'symlink') {
        const now = await readlink(path).catch(() => undefined);
        if (now === (entry.node.target ?? '')) change.reason = 'unchanged';
        else Object.assign(change, { action: 'replace', reason: 'points elsewhere' });
      } else if (entry.kind === 'file') {
        toHash.push({ change, file: entry, path });
      }
    }
  };

  // The folders above a --path: the restore makes them or goes into them, never through anything else.
  for (const rel of plan.parents) {
    const st = await lstatOrUndefined(join(target, rel));
    if (st === undefined) break;
    if (!st.isDirectory()) throw new LifeboatError('RESTORE_UNSAFE_PATH', `refusing to restore into ${join(target, rel)}: it exists and is not a directory (a symlink could lead outside the target)`);
  }
  for (const entry of plan.entries) await walk(entry);

  if (toHash.length > 0) {
    if (options.hash === undefined) throw new LifeboatError('INTERNAL', 'an if-changed restore preview was not given a way to hash files');
    const results = await options.hash(toHash.map((t) => ({ path: t.path, size: t.file.node.size ?? 0 })));
    toHash.forEach((t, i) => {
      const r = results[i]!;
      const expected = t.file.node.content ?? [];
      if (r.error !== undefined) Object.assign(t.change, { action: 'refuse', reason: `could not read it to compare (${r.error}); left as it is` });
      else if (r.size === (t.file.node.size ?? 0) && r.content.length === expected.length && r.content.every((id, j) => id === expected[j])) t.change.reason = 'unchanged';
      else Object.assign(t.change, { action: 'replace', reason: 'content differs' });
    });
  }

  if (options.delete === true) {
    // The target's own top level is compared with the snapshot's only for a whole-snapshot restore; a
    // --path restore removes only inside the folder it restores.
    const roots: { dir: string; rel: string; planned: PlannedNode[] }[] = [];
    if (plan.subPath === undefined) roots.push({ dir: target, rel: '', planned: plan.entries });
    // A folder whose listing could not be read keeps everything in it: the restore does not know what belongs there.
    for (const d of merged) if (d.listingError === undefined) roots.push({ dir: join(target, d.rel), rel: d.rel, planned: d.children });
    for (const root of roots) {
      if (root.rel === '' && !(await lstatOrUndefined(target))?.isDirectory()) continue;
      const names = new Set(root.planned.map((p) => p.rel.slice(p.rel.lastIndexOf('/') + 1)));
      await listDeletions(root.dir, root.rel, names, options.filter, deletions);
    }
    changes.push(...deletions);
  }

  const counts: Record<RestoreAction, number> = { create: 0, replace: 0, skip: 0, conflict: 0, refuse: 0, delete: 0 };
  for (const c of changes) counts[c.action]++;
  counts.create += created.unlisted;
  return { ...(policy === undefined ? {} : { policy }), existing, deletions, changes, counts };
}

/** An entry (and all below it) that nothing in the target is in the way of: listed, or only counted. */
function listCreated(entry: PlannedNode, changes: RestoreChange[], created: { listed: boolean; unlisted: number }): void {
  if (entry.kind === 'dir') {
    for (const child of entry.children) listCreated(child, changes, created);
    return;
  }
  if (created.listed) changes.push({ rel: entry.rel, kind: entry.kind, action: 'create' });
  else created.unlisted++;
}

/**
 * What `dir` (an existing real folder of the target) holds that `names` (the
 * snapshot's entries there) lacks. A name the filter does not select is left
 * alone; a folder that is not selected but could hold selected names (an
 * include deeper down) is looked into, never removed itself. lstat only: a
 * symlink is removed as a link, never followed.
 */
async function listDeletions(dir: string, rel: string, names: ReadonlySet<string>, filter: PathFilter | undefined, out: RestoreChange[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (names.has(e.name)) continue;
    const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
    const kind: RestoreChange['kind'] = e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : e.isFile() ? 'file' : 'other';
    if (filter === undefined || filter.selects(childRel)) out.push({ rel: childRel, kind, action: 'delete' });
    else if (kind === 'dir' && filter.hasIncludes && filter.mayHoldSelected(childRel)) await listDeletions(join(dir, e.name), childRel, new Set(), filter, out);
  }
}

/** The first `max` paths of what a restore without a policy would touch, for its refusal. */
export function describeConflicts(preview: RestorePreview, max = 10): string {
  const conflicts = preview.changes.filter((c) => c.action === 'conflict');
  const shown = conflicts.slice(0, max).map((c) => `${c.rel}${c.kind === 'dir' ? '/' : ''}`);
  return `${shown.join(', ')}${conflicts.length > max ? `, … (and ${conflicts.length - max} more)` : ''}`;
}
