/**
 * What each operator action holds and keeps, in one table: the repository
 * lock it takes, whether it records a run (or a drill), whether it holds the
 * runbook's run lock, and whether the alert rules look again when it ends.
 * The harness (recorded-run.ts) reads these; nothing else decides them.
 *
 * Why each is what it is:
 * - backup, tier, copy and resume write into the runbook's staging folder, so they
 *   hold the run lock: one at a time per runbook. They read or add to the
 *   repository (shared); the deletes they do (a backup's retention, tier's
 *   forget of moved snapshots) take an exclusive lock of their own for just
 *   that step (src/core/pipeline/backup-run.ts, src/core/tier/tier-snapshots.ts).
 * - restore, drill and check read packs: shared, so a prune (exclusive) can
 *   neither start under them nor delete what they are about to read.
 * - forget (prune), migrate and repair-index delete or rewrite: exclusive.
 *   maintain only extends Object Lock retention: shared, so a prune cannot
 *   delete what it is extending.
 * - ls, find, diff and dump read trees (and dump packs) of snapshots that
 *   must stay while they read: shared, like restore; they record nothing.
 * - init creates, snapshots and status only list, and an --estimate or a
 *   tier --dry-run reads only trees, the index and archive states (no
 *   pack): no lock, and nothing recorded but an estimated drill.
 * - backup, check (a verification on record) and drills (measured or
 *   estimated) feed the alert rules; so does resume, which completes
 *   transfer-pending runs: the rules then see the run succeeded, and the
 *   transfer-pending alert resolves instead of staying open until the next
 *   backup.
 */
import type { LockMode } from '../runs/repository-lock.js';
import type { RunKind } from '../store/records.js';

export interface UseCasePolicy {
  /** The operator action, as commands name it. */
  readonly action: string;
  readonly lock: LockMode;
  /** A run of this kind, a drill record (the drill keeps its own), or nothing. */
  readonly records: RunKind | 'drill' | 'nothing';
  /** Holds the runbook's run lock (locks/<runbook>.lock in the state folder). */
  readonly runLock: boolean;
  /** The alert rules run over the runbook's history when the action ends. */
  readonly alerts: boolean;
}

const policy = (p: UseCasePolicy): UseCasePolicy => p;

export const policies = {
  backup: policy({ action: 'backup', lock: 'shared', records: 'backup', runLock: true, alerts: true }),
  resume: policy({ action: 'resume', lock: 'shared', records: 'nothing', runLock: true, alerts: true }),
  tier: policy({ action: 'tier', lock: 'shared', records: 'tier', runLock: true, alerts: false }),
  // Like a backup's copy stage: the runbook's staging (the copies'), so the run lock; copy-failed reads it.
  copy: policy({ action: 'copy', lock: 'shared', records: 'copy', runLock: true, alerts: true }),
  planTier: policy({ action: 'tier --dry-run', lock: 'none', records: 'nothing', runLock: false, alerts: false }),
  restore: policy({ action: 'restore', lock: 'shared', records: 'nothing', runLock: false, alerts: false }),
  estimateRestore: policy({ action: 'restore --estimate', lock: 'none', records: 'nothing', runLock: false, alerts: false }),
  drill: policy({ action: 'restore-drill', lock: 'shared', records: 'drill', runLock: false, alerts: true }),
  estimateDrill: policy({ action: 'restore-drill --estimate', lock: 'none', records: 'drill', runLock: false, alerts: true }),
  check: policy({ action: 'check', lock: 'shared', records: 'verify', runLock: false, alerts: true }),
  forget: policy({ action: 'forget', lock: 'exclusive', records: 'nothing', runLock: false, alerts: false }),
  // Shared: it only extends retention; a prune (exclusive) must not delete what it is extending.
  maintain: policy({ action: 'maintain', lock: 'shared', records: 'nothing', runLock: false, alerts: false }),
  migrate: policy({ action: 'migrate', lock: 'exclusive', records: 'nothing', runLock: false, alerts: false }),
  repairIndex: policy({ action: 'repair-index', lock: 'exclusive', records: 'nothing', runLock: false, alerts: false }),
  init: policy({ action: 'init', lock: 'none', records: 'nothing', runLock: false, alerts: false }),
  snapshots: policy({ action: 'snapshots', lock: 'none', records: 'nothing', runLock: false, alerts: false }),
  status: policy({ action: 'status', lock: 'none', records: 'nothing', runLock: false, alerts: false }),
  ls: policy({ action: 'ls', lock: 'shared', records: 'nothing', runLock: false, alerts: false }),
  find: policy({ action: 'find', lock: 'shared', records: 'nothing', runLock: false, alerts: false }),
  diff: policy({ action: 'diff', lock: 'shared', records: 'nothing', runLock: false, alerts: false }),
  dump: policy({ action: 'dump', lock: 'shared', records: 'nothing', runLock: false, alerts: false }),
} as const;
