/**
 * The last good backup and its age against the RPO: one definition, used by
 * `status` (runbook-status.ts), the stale-backup alert rule
 * (alerts/rules/stale-backup.ts) and /metrics (src/serve/metrics-facts.ts), so
 * the age a person reads, the age that pages and the age a dashboard graphs
 * are the same number.
 *
 * A leaf: it reads nothing but run records, so every part of core may use it.
 */
import type { RunBrief, RunRecord } from '../store/records.js';

/** 'ok' within the RPO, 'STALE' past it, 'no backup' when none succeeded yet, '—' when there is no RPO (an invalid runbook). */
export type RpoState = 'ok' | 'STALE' | 'no backup' | '—';

/** A runbook's standing against its RPO at one moment. */
export interface RpoStanding<R extends RunBrief = RunRecord> {
  state: RpoState;
  /** The newest good backup, when there is one. */
  lastGood?: R;
  /** From the moment the last good backup counts as taken (backupTakenAt) to now. */
  ageMs?: number;
  rpoMs?: number;
}

/** The statuses of a good backup (isGoodBackup), for asking the store for only those. */
export const goodBackupStatuses: readonly RunRecord['status'][] = ['succeeded', 'partial'];

/**
 * A backup that protects data: succeeded, or partial (most of the data is
 * there, and the failed-run alert speaks for the rest).
 */
export function isGoodBackup(run: Pick<RunBrief, 'kind' | 'status'>): boolean {
  return run.kind === 'backup' && goodBackupStatuses.includes(run.status);
}

/**
 * How many of a runbook's newest good backups (by start) a reader that does
 * not hold its whole history looks at for the last good one. Backups of one
 * runbook never overlap (the repository lock), so the newest to start is the
 * last to end; a few more cover a record whose times are off (a run found
 * abandoned, a host's clock).
 */
export const GOOD_BACKUP_WINDOW = 5;

/**
 * When a backup's data point counts as taken: its end (the snapshot is
 * written last), or its start for a record that never recorded an end.
 */
export function backupTakenAt(run: Pick<RunBrief, 'endedAt' | 'startedAt'>): string {
  return run.endedAt ?? run.startedAt;
}

/**
 * The good backup taken last. The store lists runs by start time, but the
 * last to finish is what "taken last" means, so this compares end times
 * rather than trust the order; a record whose time does not parse is left out
 * (an age of NaN tells nobody anything). Ties go to the earlier in `runs`.
 */
export function lastGoodBackup<R extends RunBrief>(runs: readonly R[]): R | undefined {
  let best: R | undefined;
  let bestMs = -Infinity;
  for (const run of runs) {
    if (!isGoodBackup(run)) continue;
    const at = Date.parse(backupTakenAt(run));
    if (Number.isNaN(at) || (best !== undefined && at <= bestMs)) continue;
    best = run;
    bestMs = at;
  }
  return best;
}

/**
 * Where a runbook stands against its RPO now, from its runs (any kind, any
 * order). An age exactly at the RPO is still 'ok': the RPO is the longest
 * acceptable age.
 */
export function rpoState<R extends RunBrief>(runs: readonly R[], rpoMs: number | undefined, now: Date): RpoStanding<R> {
  const lastGood = lastGoodBackup(runs);
  const ageMs = lastGood ? now.getTime() - Date.parse(backupTakenAt(lastGood)) : undefined;
  const state: RpoState = rpoMs === undefined ? '—' : ageMs === undefined ? 'no backup' : ageMs <= rpoMs ? 'ok' : 'STALE';
  return { state, ...(lastGood ? { lastGood, ageMs } : {}), ...(rpoMs === undefined ? {} : { rpoMs }) };
}
