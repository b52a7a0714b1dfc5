/**
 * Where every runbook stands: its last backup and age against the RPO
 * (rpo.ts), its hot and cold RTO against the target, the trend of its
 * drills, its open alerts. `lifeboat status` renders this as a table, the
 * console shows it on its dashboard, Slack's `/backup list` reads the same
 * entries through the status command; all of them call `readStatus` (or
 * `runbookStatus` over records they already hold), so none re-derives a fact.
 */
import type { Clock } from '../clock.js';
import { copyStatuses, type CopyStatus } from '../copies/copy-status.js';
import { newestWholeDrills, wholeDrills } from '../drill/drill-scope.js';
import { defaultPackSize } from '../repo/format.js';
import type { RetrievalTier, Runbook, StorageClass } from '../runbook/types.js';
import type { AlertRecord, DrillBrief, DrillRecord, RunBrief, RunRecord } from '../store/records.js';
import { groupByRunbook } from '../store/group-by-runbook.js';
import type { Store } from '../store/store.js';
import { estimateColdRestore, measuredThroughput, type ColdRestoreEstimate } from '../tier/estimate.js';
import { goodBackupStatuses, rpoState, type RpoState } from './rpo.js';

/** A run in a status entry: enough to show it and find it. */
export interface RunSummary {
  id: string;
  status: RunRecord['status'];
  startedAt: string;
  endedAt?: string;
  snapshotId?: string;
}

/** One tier's recovery time against its target, and whether it was measured or only estimated. */
export interface RtoStatus {
  /** 'measured': a drill restored and validated for real; 'estimated': nothing was thawed or restored. */
  basis: 'measured' | 'estimated';
  /** A stored drill record, or computed now from the thaw table, the last backup's size and measured throughput. */
  source: 'drill' | 'computed';
  verdict: 'met' | 'missed' | 'failed';
  /** Undefined for a failed drill: it never reached a validated restore. */
  rtoMs?: number;
  targetMs: number;
  /** When it was measured or estimated. */
  at: string;
  drillId?: string;
  snapshotId?: string;
  /** For a computed estimate: its parts and what it was computed from. */
  estimate?: ColdRestoreEstimate & { bytes: number; objects: number };
}

/** The cold tier of a runbook that has one. */
export interface ColdTierStatus {
  storageClass: StorageClass;
  retrieval: RetrievalTier;
  /** Undefined when there is nothing to measure or estimate from yet; `reason` says why. */
  rto?: RtoStatus;
  reason?: string;
}

/** Where one runbook stands; `lifeboat status --json` prints these as they are. */
export interface StatusEntry {
  runbook: string;
  /** The runbook's one-line `description`, when it has one. */
  description?: string;
  valid: boolean;
  lastRun?: RunSummary;
  lastSuccess?: RunSummary;
  ageMs?: number;
  rpoMs?: number;
  rpoState: RpoState;
  /** The runbook's hot RTO target (objectives.rto), when it validates. */
  rtoTargetMs?: number;
  /**
   * The last finished drill of the hot tier (cold drills are in `cold`), without its phases
   * (status reads drills brief; `lifeboat history --kind drill --json` lists drills whole).
   */
  lastDrill?: Omit<DrillBrief, 'phases'>;
  /** The hot tier's RTO: the last drill's, always measured. */
  hotRto?: RtoStatus;
  /** Present only for runbooks with `repository.cold`. */
  cold?: ColdTierStatus;
  /** Present only for runbooks with `repository.copies`: each copy's newest snapshot, lag behind hot and last drill. */
  copies?: CopyStatus[];
  /** The last measured hot drills' RTOs, oldest first. */
  rtoTrendMs: number[];
  openAlerts: { key: string; severity: string; message: string }[];
}

/** A runbook as the caller knows it: by name, with its loaded version when it validates. */
export interface StatusRunbook {
  name: string;
  runbook?: Runbook;
}

/**
 * One runbook's records, each list newest first by start time (as the Store
 * lists them). Brief records (ListOptions.brief) where status needs no more:
 * runs never need their stages; drills need their phases only for a cold
 * tier's throughput estimate and for the last drill, which are read whole.
 */
export interface RunbookRecords {
  runs: readonly RunBrief[];
  drills: readonly DrillBrief[];
  /** Its open alerts. */
  alerts: readonly AlertRecord[];
}

/** Measured hot RTOs in the trend line. */
const TREND_LENGTH = 8;
/**
 * The finished drills of each tier a status reads: enough for the trend (8,
 * and a couple that failed before measuring) and for the cold throughput
 * (estimate.ts takes the median of 5) without letting a months-old drill
 * decide today's cold estimate. Per tier, so a run of cold drills cannot push
 * the last hot one out (nor the other way round).
 */
const HOT_DRILL_WINDOW = TREND_LENGTH + 2;
const COLD_DRILL_WINDOW = 20;
/** `lifeboat copy` runs read per runbook for the copies' last attempts. */
const COPY_RUN_WINDOW = 3;
/** Backups read per runbook with copies: each copy's last good fill may be a few backups back. */
const COPY_BACKUP_WINDOW = 5;
/** Drills of the hot tier read for the copies' last drills (copy drills are recorded as hot-tier drills of the copy). */
const COPY_DRILL_WINDOW = 20;
/** A running drill has no verdict yet, and a blocked one never reached the data (its drill-blocked alert says so): neither is "the last drill". */
const finishedVerdicts: readonly DrillRecord['verdict'][] = ['met', 'missed', 'failed'];

/** Pure: where one runbook stands at `now`, from its records. */
export function runbookStatus(entry: StatusRunbook, records: RunbookRecords, now: Date): StatusEntry {
  const { runbook } = entry;
  const backups = records.runs.filter((r) => r.kind === 'backup');
  const rpo = rpoState(backups, runbook?.objectives.rpoMs, now);
  // Only finished drills (finishedVerdicts), and not a path drill: its RTO is one path's, not the runbook's (src/core/drill/drill-scope.ts).
  const drills = wholeDrills(records.drills).filter((d) => finishedVerdicts.includes(d.verdict));
  const hotDrills = drills.filter((d) => d.tier !== 'cold' && !d.estimated).slice(0, HOT_DRILL_WINDOW);
  const lastDrill = hotDrills[0];
  const trend = hotDrills.filter((d) => d.rtoMs !== undefined).slice(0, TREND_LENGTH).reverse();
  return {
    runbook: entry.name,
    description: runbook?.description,
    valid: runbook !== undefined,
    lastRun: summarize(backups[0]),
    lastSuccess: summarize(rpo.lastGood),
    ageMs: rpo.ageMs,
    rpoMs: rpo.rpoMs,
    rpoState: rpo.state,
    rtoTargetMs: runbook?.objectives.rtoMs,
    lastDrill: lastDrill && withoutPhases(lastDrill),
    hotRto: lastDrill && drillRto(lastDrill),
    cold: runbook?.repository.cold && coldStatus(runbook, [...hotDrills, ...drills.filter((d) => d.tier === 'cold').slice(0, COLD_DRILL_WINDOW)], rpo.lastGood, now),
    rtoTrendMs: trend.map((d) => d.rtoMs!),
    ...(runbook?.repository.copies?.length ? { copies: copyStatuses(runbook.repository.copies, copyFills(records.runs), records.drills) } : {}),
    openAlerts: records.alerts.map((a) => ({ key: a.key, severity: a.severity, message: a.message })),
  };
}

export interface ReadStatusInput {
  runbooks: readonly StatusRunbook[];
  store: Store;
  clock: Clock;
}

/**
 * Every runbook's status, from the records it looks at: each runbook's newest
 * backup and the good one that ended last (rpo.ts), its newest finished drills of each tier, and the
 * open alerts. Read per runbook by the store (ListOptions.perRunbook), never the
 * whole history: a PostgreSQL store may hold a million runs (issue 18).
 */
export async function readStatus(input: ReadStatusInput): Promise<StatusEntry[]> {
  const records = await readStatusRecords(input.store, input.runbooks);
  // The time is read after the store, so an age is never computed against a moment before its record was read.
  return statusOfAll(input.runbooks, records, input.clock.now());
}

/**
 * The records every runbook's status is computed from, read per runbook
 * (bounded windows, whatever the size of the history): for callers that
 * also want the records themselves (the console's last good backup).
 * `runbooks`: the copy runs and drills of copies are read only when some of
 * them have `repository.copies` (drills: only theirs; a window of every
 * runbook's would double what a status reads for the few that have copies).
 */
export async function readStatusRecords(store: Store, runbooks: readonly StatusRunbook[] = []): Promise<RunbookRecords> {
  const withCopies = runbooks.filter((r) => r.runbook?.repository.copies?.length).map((r) => r.name);
  // Cold drills count only for a runbook whose cold tier is configured (runbookStatus shows no cold tier otherwise):
  // of a team's 500 runbooks usually a few, and each runbook named is an index probe.
  const withCold = runbooks.filter((r) => r.runbook?.repository.cold).map((r) => r.name);
  // The runbooks shown are named, so the store need not look for the runbooks its history holds (one index walk
  // per window on PostgreSQL); none named (a caller that wants every runbook's records): every runbook's.
  const among = runbooks.length === 0 ? {} : { runbooks: runbooks.map((r) => r.name) };
  const hotWindow = { tier: 'hot', verdict: finishedVerdicts, perRunbook: HOT_DRILL_WINDOW, ...among } as const;
  const [latest, good, copyRuns, copyBackups, hotBriefs, cold, copyDrills, alerts] = await Promise.all([
    store.listRuns({ kind: 'backup', perRunbook: 1, brief: true, ...among }),
    // The good backup that ended last is the last good one (rpo.ts), whatever order the runs started in.
    store.listRuns({ kind: 'backup', status: goodBackupStatuses, perRunbook: 1, newestBy: 'end', brief: true, ...among }),
    // `lifeboat copy` runs fill copies too; the newest few are enough for each copy's last attempt (none to read without copies).
    // So do backups' copy stages: a copy that failed in the newest backup shows its last good fill from an earlier one.
    withCopies.length === 0 ? [] : store.listRuns({ kind: 'copy', perRunbook: COPY_RUN_WINDOW, brief: true, runbooks: withCopies }),
    Promise.all(withCopies.map((runbook) => store.listRuns({ runbook, kind: 'backup', limit: COPY_BACKUP_WINDOW, brief: true }))).then((lists) => lists.flat()),
    // Whole drills: path drills do not take places in the windows (src/core/drill/drill-scope.ts).
    newestWholeDrills(store, { ...hotWindow, brief: true }),
    // Brief too: a cold drill's own RTO is all coldStatus takes from it; the throughput an estimate needs is
    // read from hot drills' phases, and only for a cold tier with no drill of its own (below).
    runbooks.length > 0 && withCold.length === 0
      ? []
      : newestWholeDrills(store, { tier: 'cold', verdict: finishedVerdicts, perRunbook: COLD_DRILL_WINDOW, brief: true, ...(runbooks.length > 0 && { runbooks: withCold }) }),
    Promise.all(withCopies.map((runbook) => store.listDrills({ runbook, tier: 'hot', verdict: finishedVerdicts, limit: COPY_DRILL_WINDOW }))).then((lists) =>
      lists.flat().filter((d) => d.copy !== undefined && d.path === undefined),
    ),
    store.listAlerts({ status: 'open' }),
  ]);
  // A cold tier with no drill of its own yet is estimated from its hot drills' throughput: their phases are
  // read for those runbooks only (usually none: a cold tier's drills are recorded from its first tier run).
  const coldDrilled = new Set(cold.map((d) => d.runbook));
  const estimatedFromHot = runbooks.filter((r) => r.runbook?.repository.cold && !coldDrilled.has(r.name)).map((r) => r.name);
  const whole = new Map(
    (await Promise.all(estimatedFromHot.map((runbook) => newestWholeDrills(store, { ...hotWindow, runbook })))).flat().map((d) => [d.id, d]),
  );
  // The brief window gives the order; a drill also read whole takes its place whole.
  const hot = whole.size === 0 ? hotBriefs : hotBriefs.map((d) => whole.get(d.id) ?? d);
  // Per runbook the newest backup stays first (runbookStatus takes it as the last run); the good one and the copies' backups follow.
  const runs: RunBrief[] = [...latest];
  const seen = new Set(latest.map((r) => r.id));
  for (const r of [...good, ...copyBackups]) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    runs.push(r);
  }
  // Hot, then cold: each tier newest first, which is all runbookStatus needs of the order.
  // Copy drills last: runbookStatus leaves them out of the hot and cold RTOs (wholeDrills) and reads them per copy.
  return { runs: [...runs, ...copyRuns], drills: [...hot, ...cold, ...copyDrills], alerts };
}

/** Pure: every runbook's status from records of all runbooks (each list newest first). */
export function statusOfAll(runbooks: readonly StatusRunbook[], records: RunbookRecords, now: Date): StatusEntry[] {
  // Grouped in one pass each, not filtered per runbook: 500 runbooks × a history of 100,000 runs adds up.
  const runs = groupByRunbook(records.runs);
  const drills = groupByRunbook(records.drills);
  const alerts = groupByRunbook(records.alerts);
  return runbooks.map((r) => runbookStatus(r, { runs: runs.get(r.name) ?? [], drills: drills.get(r.name) ?? [], alerts: alerts.get(r.name) ?? [] }, now));
}

/**
 * The cold tier's RTO: the last cold drill that restored for real wins (a
 * measurement beats any estimate); else the last estimated cold drill; else an
 * estimate computed now from the newest backup's size and the throughput this
 * runbook's drills measured.
 */
function coldStatus(runbook: Runbook, drills: readonly DrillBrief[], lastGood: RunBrief | undefined, now: Date): ColdTierStatus {
  const cold = runbook.repository.cold!;
  // The schema requires a cold storage class; the type allows none (a bucket's default class, STANDARD).
  const storageClass = cold.storageClass ?? 'STANDARD';
  const base = { storageClass, retrieval: cold.retrieval };
  const coldDrills = drills.filter((d) => d.tier === 'cold');
  const drill = coldDrills.find((d) => !d.estimated) ?? coldDrills.find((d) => d.estimated);
  if (drill) return { ...base, rto: drillRto(drill) };
  const bytes = lastGood?.stats?.bytes;
  if (bytes === undefined) return { ...base, reason: lastGood ? 'no estimate (the last backup recorded no size)' : 'no estimate (no backup yet)' };
  // The packs a restore reads: the snapshot's bytes in packs of the default size (compression makes this an upper bound).
  const objects = Math.ceil(bytes / defaultPackSize);
  try {
    const estimate = estimateColdRestore({ storageClass, retrieval: cold.retrieval, bytes, objects, throughputBytesPerSec: measuredThroughput(drills) });
    const targetMs = runbook.objectives.coldRtoMs ?? runbook.objectives.rtoMs;
    return {
      ...base,
      rto: {
        basis: 'estimated',
        source: 'computed',
        verdict: estimate.totalMs <= targetMs ? 'met' : 'missed',
        rtoMs: estimate.totalMs,
        targetMs,
        at: now.toISOString(),
        snapshotId: lastGood?.snapshotId,
        estimate: { ...estimate, bytes, objects },
      },
    };
  } catch (e) {
    return { ...base, reason: `no estimate (${e instanceof Error ? e.message : String(e)})` };
  }
}

function drillRto(d: DrillBrief): RtoStatus {
  return {
    basis: d.estimated ? 'estimated' : 'measured',
    source: 'drill',
    verdict: d.verdict === 'met' || d.verdict === 'missed' ? d.verdict : 'failed',
    rtoMs: d.rtoMs,
    targetMs: d.targetMs,
    at: d.endedAt ?? d.startedAt,
    drillId: d.id,
    snapshotId: d.snapshotId || undefined,
  };
}

/** Runs that filled copies (backups' copy stage, `lifeboat copy`), newest first. */
function copyFills(runs: readonly RunBrief[]): RunBrief[] {
  return runs.filter((r) => r.copies !== undefined).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** The same whatever the store: one keeping whole records in memory lists them with their phases. */
function withoutPhases(drill: DrillBrief): Omit<DrillBrief, 'phases'> {
  const { phases: _phases, ...rest } = drill;
  return rest;
}

function summarize(run: RunBrief | undefined): RunSummary | undefined {
  return run && { id: run.id, status: run.status, startedAt: run.startedAt, endedAt: run.endedAt, snapshotId: run.snapshotId };
}
