/**
 * `--include` / `--exclude` for a restore: which paths of a snapshot plan
 * (snapshot-plan.ts) are restored, and which paths of the target a
 * `--delete` may consider.
 *
 * Patterns are globs (picomatch, the project's one glob library, as in
 * src/core/pipeline/discover.ts) on the path inside the snapshot
 * (`source/dir/name`, the same path as under the target). A pattern without
 * a slash matches the name in any folder (`*.tmp`, `cache`); one with a slash
 * matches the whole path (`data/2024/**`). A leading slash is ignored. A
 * pattern that matches a folder matches everything in it. Hidden names match
 * like any other. Excludes win over includes; with no include, everything
 * not excluded is restored.
 */
import { snapshotPathGlob } from './path-glob.js';
import type { PlannedFile, PlannedNode, SnapshotPlan } from './snapshot-plan.js';

export interface RestorePatterns {
  include?: readonly string[];
  exclude?: readonly string[];
}

export interface PathFilter {
  /** True when `rel` (or a folder above it) is selected: included (or no include given) and not excluded. */
  selects(rel: string): boolean;
  /** False when nothing at or below `rel` can be selected (it, or a folder above it, is excluded). */
  mayHoldSelected(rel: string): boolean;
  /** Whether any include pattern was given (then a folder may hold selected paths without being selected). */
  readonly hasIncludes: boolean;
}

function matcher(option: string, patterns: readonly string[]): ((rel: string) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  const globs = patterns.map((p) => snapshotPathGlob(p, `${option} "${p}": the pattern is empty (e.g. "*.log", "data/2024/**")`));
  // The path or any folder above it.
  return (rel) => {
    const parts = rel.split('/');
    for (let i = parts.length; i > 0; i--) {
      const path = parts.slice(0, i).join('/');
      if (globs.some((g) => g(path))) return true;
    }
    return false;
  };
}

export function pathFilter(patterns: RestorePatterns = {}): PathFilter | undefined {
  const included = matcher('--include', patterns.include ?? []);
  const excluded = matcher('--exclude', patterns.exclude ?? []);
  if (included === undefined && excluded === undefined) return undefined;
  return {
    hasIncludes: included !== undefined,
    selects: (rel) => !(excluded?.(rel) ?? false) && (included?.(rel) ?? true),
    mayHoldSelected: (rel) => !(excluded?.(rel) ?? false),
  };
}

/**
 * The plan without what the filter leaves out. A folder stays when it is
 * selected itself or holds something selected (then it is made, to hold it).
 * `files` and `fileBytes` are counted again; `unreadable` keeps the folders
 * still in the plan.
 */
export function filterPlan(plan: SnapshotPlan, filter: PathFilter | undefined): SnapshotPlan {
  if (filter === undefined) return plan;
  const files: PlannedFile[] = [];
  let fileBytes = 0;
  const kept = new Set<PlannedNode>();
  const keep = (entry: PlannedNode): PlannedNode | undefined => {
    if (entry.kind !== 'dir') {
      if (!filter.selects(entry.rel)) return undefined;
      if (entry.kind === 'file') {
        files.push(entry);
        fileBytes += entry.node.size ?? 0;
      }
      return entry;
    }
    if (!filter.mayHoldSelected(entry.rel)) return undefined;
    const children = entry.children.map(keep).filter((c): c is PlannedNode => c !== undefined);
    // An unreadable folder that is selected stays, so its damage is still reported.
    if (children.length === 0 && !filter.selects(entry.rel)) return undefined;
    const dir = { ...entry, children };
    kept.add(entry);
    return dir;
  };
  const entries = plan.entries.map(keep).filter((e): e is PlannedNode => e !== undefined);
  return { ...plan, entries, files, fileBytes, unreadable: plan.unreadable.filter((d) => kept.has(d)) };
}
