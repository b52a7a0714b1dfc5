/**
 * Restore of a snapshot (or a path inside it) into a target folder: the plan
 * (snapshot-plan.ts: walk the trees, check every name, locate every blob),
 * narrowed by --include/--exclude (restore-filter.ts), then the preview
 * (restore-preview.ts: what is created, replaced, skipped, deleted), then the
 * writer (restore-writer.ts: make folders, fetch packs in spans, let the
 * workers decrypt, verify and write, set metadata). A caller that planned
 * already (a cold restore plans to know what to thaw) passes its plan, so
 * the trees are walked once.
 *
 * A target that already holds a path the restore would write is refused
 * unless an overwrite policy says what to do with it, naming the paths: an
 * operator who restores into the wrong folder, or into one holding files
 * edited since the backup, loses nothing.
 */
import { mkdir } from 'node:fs/promises';
import { LifeboatError } from '../errors.js';
import { inWorkerBatches } from './file-scheduler.js';
import { mapLimit, type Repository } from './repository.js';
import { filterPlan, pathFilter, type RestorePatterns } from './restore-filter.js';
import { describeConflicts, previewRestore, type HashFiles, type OverwritePolicy, type RestorePreview } from './restore-preview.js';
import { writeRestore, type RestoreOutcome, type WriteOptions } from './restore-writer.js';
import type { Snapshot } from './snapshot.js';
import { planSnapshot, type SnapshotPlan } from './snapshot-plan.js';
import { WorkerPool } from './worker-pool.js';

export type { RestoreOutcome, RestoreProgress } from './restore-writer.js';
export type { OverwritePolicy, RestoreChange, RestorePreview } from './restore-preview.js';

export interface RestoreInput extends WriteOptions {
  repo: Repository;
  snapshot: Snapshot;
  /** A path inside the snapshot (`source/dir/file`); restored at the same relative path under the target. */
  subPath?: string;
  /** planSnapshot's answer for this snapshot and sub-path, when the caller made it already. */
  plan?: SnapshotPlan;
  /** What to do with paths the target already holds; without one, a restore that would touch any is refused (USAGE). */
  overwrite?: OverwritePolicy;
  /** Restore only what these select (restore-filter.ts). */
  patterns?: RestorePatterns;
  /** Remove what the target holds that the snapshot (as filtered) lacks. */
  delete?: boolean;
  /** Decide and report, write nothing (the target is not even created). */
  dryRun?: boolean;
}

export interface RestoreResult extends RestoreOutcome {
  preview: RestorePreview;
  /** Nothing was written. */
  dryRun: boolean;
}

export async function restoreSnapshot(input: RestoreInput): Promise<RestoreResult> {
  const { repo, snapshot, subPath, plan } = input;
  if (plan !== undefined && (plan.snapshot.id !== snapshot.id || plan.subPath !== subPath)) {
    throw new LifeboatError('INTERNAL', `restore of ${snapshot.id.slice(0, 8)}${subPath === undefined ? '' : `:${subPath}`} was given the plan of ${plan.snapshot.id.slice(0, 8)}${plan.subPath === undefined ? '' : `:${plan.subPath}`}`);
  }
  const filter = pathFilter(input.patterns);
  // The target is made before the trees are read, as it always was: a snapshot
  // refused while planning leaves it there, empty (test/integrity/tamper.test.ts).
  // A dry run changes nothing, not even that.
  if (input.dryRun !== true) await mkdir(input.target, { recursive: true });
  const planned = filterPlan(plan ?? (await planSnapshot(repo, snapshot, { subPath, signal: input.signal })), filter);
  const preview = await previewRestore(planned, input.target, {
    overwrite: input.overwrite,
    delete: input.delete,
    filter,
    hash: hashWith(repo, input.workers),
    signal: input.signal,
    // Only a dry run prints what is created; a restore reports what the target held.
    listCreated: input.dryRun === true,
  });
  if (input.dryRun === true) return { ...emptyOutcome(planned), preview, dryRun: true };
  refuseConflicts(input.target, preview);
  const outcome = await writeRestore(repo, planned, { ...input, preview });
  return { ...outcome, preview, dryRun: false };
}

/**
 * The check a restore without a policy makes, made early: a cold restore
 * makes it before it pays for a thaw (the folder listings it needs are
 * readable at once). Plans (or takes `plan`), filters and previews; writes
 * nothing.
 */
export async function refuseConflictingTarget(input: Omit<RestoreInput, 'dryRun'>): Promise<void> {
  if (input.overwrite !== undefined) return;
  const { preview } = await restoreSnapshot({ ...input, dryRun: true });
  refuseConflicts(input.target, preview);
}

function refuseConflicts(target: string, preview: RestorePreview): void {
  if (preview.counts.conflict === 0) return;
  throw new LifeboatError(
    'USAGE',
    `refusing to restore into ${target}: it already holds ${preview.counts.conflict} path(s) this restore would write, and no --overwrite policy says what to do with them: ${describeConflicts(preview)}. Choose --overwrite never (keep them), if-newer, if-changed or always; --dry-run shows what each would do`,
    { details: { target, conflicts: preview.changes.filter((c) => c.action === 'conflict').map((c) => c.rel) } },
  );
}

/** Content ids of files in the target, chunked and hashed by the repository's workers (only an if-changed restore asks). */
function hashWith(repo: Repository, workers: number | undefined): HashFiles {
  return async (files) => {
    const results: Awaited<ReturnType<HashFiles>> = new Array(files.length);
    const pool = new WorkerPool(repo, { workers });
    try {
      const indexed = files.map((f, i) => ({ ...f, i }));
      await mapLimit(inWorkerBatches(indexed, (f) => f.size), pool.size * 2, async (batch) => {
        const hashed = await pool.hash(batch.map((f) => ({ path: f.path, size: f.size })));
        batch.forEach((f, j) => (results[f.i] = hashed[j]!));
      });
    } finally {
      await pool.close();
    }
    return results;
  };
}

function emptyOutcome(plan: SnapshotPlan): RestoreOutcome {
  return { files: 0, bytes: 0, totalFiles: plan.files.length, totalBytes: plan.fileBytes, dirs: 0, symlinks: 0, replaced: 0, skipped: 0, deleted: 0, packsRead: 0, bytesFetched: 0, failed: [] };
}
