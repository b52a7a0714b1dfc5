/**
 * `restore`: a snapshot (or a path in it) into a folder, under a shared
 * repository lock; from the cold tier, the archived packs it reads are thawed
 * first. `estimateRestore` forecasts a cold restore without thawing, locking
 * or writing anything.
 */
import { rtoTargetOf } from '../drill/rto-target.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { Tier } from '../repo/open-repository.js';
import { refuseConflictingTarget, restoreSnapshot, type OverwritePolicy, type RestoreResult as WrittenRestore } from '../repo/restorer.js';
import type { RestorePatterns } from '../repo/restore-filter.js';
import { findRunbookSnapshot, type SnapshotScope } from '../repo/runbook-snapshots.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import type { Runbook } from '../runbook/types.js';
import { measuredThroughput } from '../tier/estimate.js';
import { describeThawProgress, forecastColdRestore, thawForRestore, type ColdRestoreForecast, type ThawForRestoreResult } from '../tier/thaw-restore.js';
import { coldLocationOf, thawSettingsFor } from '../tier/thaw-settings.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface RestoreInput extends RunContext {
  /** `latest` or a snapshot id prefix, among the runbook's own snapshots (src/core/repo/runbook-snapshots.ts). */
  snapshot: string;
  /** Any runbook's snapshot in the repository (an explicit `--all`), not only this runbook's. */
  all?: boolean;
  /** An absolute folder, created if missing. */
  target: string;
  /** Only this path inside the snapshot. */
  subPath?: string;
  tier: Tier;
  /** What to do with paths the target already holds; without one a restore that would touch any is refused (src/core/repo/restore-preview.ts). */
  overwrite?: OverwritePolicy;
  /** Restore only the paths these select (src/core/repo/restore-filter.ts). */
  patterns?: RestorePatterns;
  /** Remove what the target holds that the snapshot lacks. */
  delete?: boolean;
  /** Say what would be created, replaced, skipped and deleted; change nothing. */
  dryRun?: boolean;
}

export interface RestoreResult {
  snapshot: Snapshot;
  outcome: WrittenRestore;
  /** Cold tier: what was planned and thawed. */
  thaw?: ThawForRestoreResult;
  /** Wall time from opening the repository to the last file written. */
  durationMs: number;
  /** Objects read from a locked version instead of their current one (an Object Lock repository in a bucket someone tampered with). */
  notes: string[];
}

export async function restore(input: RestoreInput): Promise<RestoreResult> {
  const { runbook, clock } = input;
  const settings = input.tier === 'cold' ? coldSettings(runbook, input.env) : undefined;
  // A dry run must cost nothing and change nothing; a cold one would pay for a thaw first.
  if (settings !== undefined && input.dryRun === true) throw new LifeboatError('USAGE', 'a dry run reads the hot tier only; for the cold tier, --estimate says what a restore would take and cost');
  refuseLiveSource(runbook, input.target);
  const { value } = await recordedRun(policies.restore, input, async (session) => {
    const { signal, emit } = session.input;
    const started = clock.monotonicMs();
    const { repo, backend } = await session.openRepository(input.tier);
    const snapshot = await findRunbookSnapshot(repo, input.snapshot, restoreScope(input));
    let thaw: ThawForRestoreResult | undefined;
    if (settings !== undefined) {
      // Refused for a target holding what it would write before the thaw is paid for, not after. When the
      // folder listings are archived too this cannot be known yet; the restore below still refuses.
      await refuseConflictingTarget({ repo, snapshot, target: input.target, subPath: input.subPath, overwrite: input.overwrite, patterns: input.patterns, delete: input.delete, signal }).catch((e: unknown) => {
        if (!isLifeboatError(e, 'OBJECT_ARCHIVED')) throw e;
      });
      thaw = await thawForRestore({
        repo,
        backend,
        snapshot,
        subPath: input.subPath,
        settings,
        signal,
        clock,
        onProgress: (round, p) => emit({ type: 'log', level: 'info', message: describeThawProgress(round, p) }),
      });
    }
    // A cold restore writes from the thaw's plan: the trees are walked once (src/core/repo/snapshot-plan.ts).
    const outcome = await restoreSnapshot({
      repo,
      snapshot,
      target: input.target,
      subPath: input.subPath,
      plan: thaw?.snapshotPlan,
      signal,
      overwrite: input.overwrite,
      patterns: input.patterns,
      delete: input.delete,
      dryRun: input.dryRun,
    });
    return { value: { snapshot, outcome, ...(thaw === undefined ? {} : { thaw }), durationMs: clock.monotonicMs() - started, notes: repo.objectLock?.recoveryMessages() ?? [] } };
  });
  return value;
}

export interface EstimateRestoreInput extends RunContext {
  snapshot: string;
  all?: boolean;
  subPath?: string;
}

export interface EstimateRestoreResult {
  snapshot: Snapshot;
  forecast: ColdRestoreForecast;
}

/** What restoring from the cold tier would take and cost: trees, index and HeadObject answers only. */
export async function estimateRestore(input: EstimateRestoreInput): Promise<EstimateRestoreResult> {
  const settings = coldSettings(input.runbook, input.env);
  const { value } = await recordedRun(policies.estimateRestore, input, async (session) => {
    const { repo, backend } = await session.openRepository('cold');
    const snapshot = await findRunbookSnapshot(repo, input.snapshot, restoreScope(input));
    const throughput = measuredThroughput(await session.input.store.listDrills({ runbook: input.runbook.name }));
    const forecast = await forecastColdRestore({
      repo,
      backend,
      snapshot,
      subPath: input.subPath,
      settings,
      targetMs: rtoTargetOf(input.runbook.objectives, 'cold'),
      ...(throughput === undefined ? {} : { throughputBytesPerSec: throughput }),
    });
    return { value: { snapshot, forecast } };
  });
  return value;
}

/** Which snapshots a restore may name: the runbook's own, or any with `--all`. */
function restoreScope(input: RunContext & { all?: boolean }): SnapshotScope {
  return { runbook: input.runbook.name, all: input.all, foreignHint: 'pass --all to restore another runbook\'s snapshot' };
}

/** The thaw settings of the cold tier; refuses a runbook without one. */
function coldSettings(runbook: Runbook, env: RunContext['env']): ReturnType<typeof thawSettingsFor> {
  coldLocationOf(runbook);
  return thawSettingsFor(runbook, env);
}

/** A restore into a live source's folder (or one above it) would overwrite the data it protects. */
function refuseLiveSource(runbook: Runbook, target: string): void {
  for (const source of runbook.sources) {
    if (source.kind === 'path' && (target === source.path || source.path.startsWith(target + '/'))) {
      throw new LifeboatError('USAGE', `refusing to restore into ${target}: it holds the live source ${source.name} (${source.path}); restore elsewhere and copy what you need`);
    }
  }
}
