/**
 * What /metrics says about one runbook, as plain functions of the store's
 * records and the time. Kept apart from prom-client so the choices (what counts
 * as a success, which drill is "the last") are made and read in one place.
 * The last good backup and its age are core's rpoState (src/core/status/rpo.ts),
 * as `status` and the stale rule count them; "last success" is stricter: a
 * partial backup is a failure here, as a dashboard reader means it.
 */
import { backupTakenAt, finishedDrills, isPathDrill, measuredDrills, runTime, type AlertRecord, type DrillRecord, type RunRecord, type Severity } from '../core/index.js';

export const severities: readonly Severity[] = ['info', 'warning', 'critical'];

/** The last successful backup of a runbook, in the units Prometheus wants. */
export interface LastSuccessFacts {
  runId: string;
  /** Unix seconds of the run's end: the moment the data point counts as taken. */
  timestampSeconds: number;
  durationSeconds?: number;
  /** Plaintext size of everything the snapshot holds (stats.bytes). */
  sourceBytes?: number;
  /** Plaintext that was new to the repository (stats.bytesNew; the rest deduplicated). */
  addedBytes?: number;
  /** What the new data took in packs, after compression and encryption (stats.bytesStored). */
  storedBytes?: number;
  /** The whole repository's size after the run, as its index counts packs (stats.repositoryBytes). */
  repositoryBytes?: number;
}

/**
 * The facts of a backup run that succeeded. Only `succeeded` is a success
 * here: a partial run left sources out, and a dashboard's "last success" must
 * not hide that. (The RPO age is another question, answered by rpoState, where
 * a partial run counts as in `status` and the stale rule.)
 */
export function lastSuccessFacts(run: RunRecord): LastSuccessFacts {
  const stats = run.stats ?? {};
  return {
    runId: run.id,
    timestampSeconds: Date.parse(backupTakenAt(run)) / 1000,
    durationSeconds: run.durationMs === undefined ? undefined : run.durationMs / 1000,
    sourceBytes: stats.bytes,
    addedBytes: stats.bytesNew,
    storedBytes: stats.bytesStored,
    repositoryBytes: stats.repositoryBytes,
  };
}

/** The newest backup that succeeded (status `succeeded`, not partial), by the moment its data counts as taken. */
export function lastSucceededBackup(runs: readonly RunRecord[]): RunRecord | undefined {
  return newestByTime(
    runs.filter((r) => r.kind === 'backup' && r.status === 'succeeded'),
    backupTakenAt,
  );
}

/** Statuses of a backup that did not store everything it should have: nothing (failed) or not every source (partial). */
export const failedBackupStatuses: readonly RunRecord['status'][] = ['failed', 'partial'];

/** What the newest backups of a runbook say beyond its last success: one pass over them, each time parsed once (a scrape does this for every runbook). */
export interface BackupFacts {
  /** Unix seconds of the end of the newest backup that failed or ended partial. */
  lastFailureSeconds?: number;
  /** Unix seconds of the start of the newest backup, whatever its outcome, one still running included. */
  lastAttemptSeconds?: number;
  /**
   * The runbook's snapshots in its hot repository as the newest backup that
   * counted them saw them (stats.snapshots, recorded after retention and
   * tiering once the upload completed, src/core/pipeline/backup-run.ts): read
   * from the store, so a scrape never opens the repository. A `forget` or `tier`
   * run, or a backup that ended earlier (failed, transfer-pending), leaves the
   * count as the last counting backup recorded it.
   */
  snapshots?: number;
}

/** BackupFacts of `runs` (other kinds ignored); a time that does not parse is left out; a tie goes to the earlier in `runs`. */
export function backupFacts(runs: readonly RunRecord[]): BackupFacts {
  let failedAt = -Infinity;
  let startedAt = -Infinity;
  let countedAt = -Infinity;
  let snapshots: number | undefined;
  for (const run of runs) {
    if (run.kind !== 'backup') continue;
    const taken = Date.parse(backupTakenAt(run));
    const started = Date.parse(run.startedAt);
    if (started > startedAt) startedAt = started;
    if (failedBackupStatuses.includes(run.status) && taken > failedAt) failedAt = taken;
    if (run.stats?.snapshots !== undefined && taken > countedAt) {
      countedAt = taken;
      snapshots = run.stats.snapshots;
    }
  }
  const seconds = (ms: number) => (ms === -Infinity ? undefined : ms / 1000);
  return { lastFailureSeconds: seconds(failedAt), lastAttemptSeconds: seconds(startedAt), snapshots };
}

export interface DrillFacts {
  tier: DrillRecord['tier'];
  rtoSeconds: number;
  /** The target this drill was judged against (the runbook's RTO when it ran). */
  targetSeconds: number;
  /** Unix seconds of the drill's start. */
  timestampSeconds: number;
  /** 1 when the RTO was estimated (cold tier, no thaw done), 0 when measured. */
  estimated: 0 | 1;
}

/**
 * The newest drill per tier that produced an RTO. A failed drill has no RTO, so
 * it does not blank the last number; drill failures show in the run counts and
 * as an alert.
 */
export function lastDrillPerTier(drills: readonly DrillRecord[]): DrillFacts[] {
  const facts: DrillFacts[] = [];
  for (const tier of ['hot', 'cold'] as const) {
    const drill = newestByTime(
      measuredDrills(drills.filter((d) => d.tier === tier)),
      (d) => d.startedAt,
    );
    if (!drill) continue;
    facts.push({
      tier,
      rtoSeconds: drill.rtoMs / 1000,
      targetSeconds: drill.targetMs / 1000,
      timestampSeconds: Date.parse(drill.startedAt) / 1000,
      estimated: drill.estimated === true ? 1 : 0,
    });
  }
  return facts;
}

/** Open alerts (acknowledged or not: acknowledging is not fixing) counted per runbook and severity. */
export function openAlertCounts(alerts: readonly AlertRecord[]): Map<string, Record<Severity, number>> {
  const counts = new Map<string, Record<Severity, number>>();
  for (const alert of alerts) {
    if (alert.status !== 'open') continue;
    const perRunbook = counts.get(alert.runbook) ?? { info: 0, warning: 0, critical: 0 };
    perRunbook[alert.severity] += 1;
    counts.set(alert.runbook, perRunbook);
  }
  return counts;
}

/** A finished run or drill, as the run counter sees it. */
export interface FinishedWork {
  /** Unique across runs and drills (drill ids are prefixed). */
  id: string;
  runbook: string;
  /**
   * A RunKind, `drill`, or `path-drill`: a drill of one path (restore-drill
   * --path) is counted apart, so a mistyped path in Slack does not read as a
   * failed drill of the runbook on a dashboard or in an alert on the counter.
   */
  kind: string;
  /** A run's final status, or a drill's verdict (`cancelled` for a drill an operator stopped). */
  outcome: string;
  /** When it finished, in epoch milliseconds. */
  endedMs: number;
}

export function finishedWork(runs: readonly RunRecord[], drills: readonly DrillRecord[]): FinishedWork[] {
  const work: FinishedWork[] = [];
  for (const run of runs) {
    if (run.status === 'running') continue;
    work.push({ id: `run:${run.id}`, runbook: run.runbook, kind: run.kind, outcome: run.status, endedMs: Date.parse(runTime(run)) });
  }
  const verdicts = new Set(finishedDrills(drills));
  for (const drill of drills) {
    if (drill.verdict === 'running') continue;
    // finishedDrills leaves out only the cancelled ones (recorded as failed + reason "cancelled").
    const outcome = verdicts.has(drill) ? drill.verdict : 'cancelled';
    work.push({ id: `drill:${drill.id}`, runbook: drill.runbook, kind: isPathDrill(drill) ? 'path-drill' : 'drill', outcome, endedMs: Date.parse(drill.endedAt ?? drill.startedAt) });
  }
  return work;
}

/**
 * Newest by the given time, rather than trusting the store's order (newest
 * start first). A record whose time does not parse is left out: a timestamp
 * of NaN would tell a dashboard nothing.
 */
function newestByTime<T>(items: readonly T[], timeOf: (t: T) => string): T | undefined {
  let best: T | undefined;
  let bestMs = -Infinity;
  for (const item of items) {
    const at = Date.parse(timeOf(item));
    if (Number.isNaN(at)) continue;
    if (best === undefined || at > bestMs) {
      best = item;
      bestMs = at;
    }
  }
  return best;
}
