/**
 * One read of the store per scrape, shared by every gauge.
 *
 * prom-client asks each metric for its values at once (Registry.metrics starts
 * every collect() before awaiting any), and each gauge here needs the store.
 * Reading the JSON file once per gauge would parse it a dozen times per scrape
 * and could mix two versions of it in one answer. So the first collect starts
 * the read and the others (and any scrape that arrives meanwhile) await the same
 * promise; once it settles the next scrape reads afresh, so values are never
 * older than the scrape that asked for them.
 */
import { GOOD_BACKUP_WINDOW, goodBackupStatuses, groupByRunbook, newestWholeDrills, rpoState, stagingUsage, type Clock, type DrillRecord, type Runbook, type Severity, type StagingUsage, type Store } from '../core/index.js';
import {
  failedBackupStatuses,
  backupFacts,
  finishedWork,
  lastDrillPerTier,
  lastSucceededBackup,
  lastSuccessFacts,
  openAlertCounts,
  severities,
  type DrillFacts,
  type FinishedWork,
  type LastSuccessFacts,
} from './metrics-facts.js';

export interface RunbookView {
  name: string;
  rpoSeconds: number;
  rtoSeconds: number;
  /** The newest backup that succeeded (a partial one does not). */
  lastSuccess?: LastSuccessFacts;
  /** rpoState's age of the last good backup (succeeded or partial), in seconds: the age `status` prints and the stale rule compares with the RPO. */
  lastGoodAgeSeconds?: number;
  /** End of the newest failed or partial backup, unix seconds. */
  lastFailureSeconds?: number;
  /** Start of the newest backup of any outcome, unix seconds. */
  lastAttemptSeconds?: number;
  /** Snapshots in the hot repository, as the newest backup that counted them recorded. */
  snapshots?: number;
  drills: DrillFacts[];
  openAlerts: Record<Severity, number>;
}

export interface ScrapeView {
  runbooks: RunbookView[];
  /** Open alerts by severity over every runbook the store has alerts for, loaded or not. */
  openAlerts: Record<Severity, number>;
  /** Open alerts of runbooks outside the loaded set (removed, or not valid). */
  otherRunbookAlerts: Map<string, Record<Severity, number>>;
  /** Runs and drills that ended from `finishedSince` on (all of them without it). */
  finished: FinishedWork[];
  /** What each staging folder holds; empty without a state folder or when it could not be read. */
  staging: StagingUsage[];
  /** When it was read (the clock, after the store). */
  at: Date;
}

export interface ScrapeViewSource {
  store(): Promise<Store>;
  runbooks(): readonly Runbook[];
  clock: Clock;
  /** The state folder, whose staging/ is walked for the bytes waiting there; none: no staging figures. */
  home?: string;
  /** The earliest end of the finished work to read (epoch ms; the run counter's window); absent: all the store holds. */
  finishedSince?(): number;
}

/** Drills that measured an RTO (measuredDrills): the ones the last-RTO gauges read. */
const measuredVerdicts: readonly DrillRecord['verdict'][] = ['met', 'missed'];
/**
 * Several per tier, not one: lastDrillPerTier skips a path drill (its RTO is one
 * path's, src/core/drill/drill-scope.ts) and a record without an rtoMs, so the
 * runbook's last whole one must be among those read.
 */
const MEASURED_DRILL_WINDOW = 10;

/** Returns a loader: concurrent calls share one store read; a call after it settled reads again. */
export function sharedScrapeView(source: ScrapeViewSource): () => Promise<ScrapeView> {
  let inFlight: Promise<ScrapeView> | undefined;
  return () => {
    if (!inFlight) {
      inFlight = loadScrapeView(source).finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  };
}

export async function loadScrapeView(source: ScrapeViewSource): Promise<ScrapeView> {
  const runbooks = source.runbooks();
  const store = await source.store();
  const since = source.finishedSince?.();
  const endedSince = since === undefined || since === -Infinity ? undefined : new Date(since).toISOString();
  // Per runbook only what the gauges show (rpo.ts's window of good backups, the newest measured drill
  // of each tier), and the work that ended since the counter's last read: never the whole history.
  // The same window for each kind of "newest backup": runs of a runbook do not overlap, so a few cover records whose times are off (rpo.ts).
  const [good, succeeded, failed, latest, hot, cold, runs, drills, alerts, staging] = await Promise.all([
    store.listRuns({ kind: 'backup', status: goodBackupStatuses, perRunbook: GOOD_BACKUP_WINDOW }),
    store.listRuns({ kind: 'backup', status: ['succeeded'], perRunbook: GOOD_BACKUP_WINDOW }),
    store.listRuns({ kind: 'backup', status: failedBackupStatuses, perRunbook: GOOD_BACKUP_WINDOW }),
    store.listRuns({ kind: 'backup', perRunbook: GOOD_BACKUP_WINDOW }),
    // Whole drills: a path drill's RTO is not the runbook's, and must not push it out of the window (src/core/drill/drill-scope.ts).
    newestWholeDrills(store, { tier: 'hot', verdict: measuredVerdicts, perRunbook: MEASURED_DRILL_WINDOW }),
    newestWholeDrills(store, { tier: 'cold', verdict: measuredVerdicts, perRunbook: MEASURED_DRILL_WINDOW }),
    store.listRuns({ endedSince }),
    store.listDrills({ endedSince }),
    store.listAlerts({ status: 'open' }),
    // Staging that cannot be read (permissions) leaves its series out rather than fail the whole scrape.
    source.home === undefined ? [] : stagingUsage(source.home).catch(() => []),
  ]);
  // The time is read after the store, so an age is never computed against a moment before the record was read.
  const now = source.clock.now();
  const alertCounts = openAlertCounts(alerts);
  const loaded = new Set(runbooks.map((r) => r.name));
  const goodOf = groupByRunbook(good);
  const succeededOf = groupByRunbook(succeeded);
  const backupsOf = groupByRunbook([...failed, ...latest]);
  const drillsOf = groupByRunbook([...hot, ...cold]);
  const views = runbooks.map((runbook): RunbookView => {
    const rpo = rpoState(goodOf.get(runbook.name) ?? [], runbook.objectives.rpoMs, now);
    const success = lastSucceededBackup(succeededOf.get(runbook.name) ?? []);
    const backups = backupFacts([...(backupsOf.get(runbook.name) ?? []), ...(succeededOf.get(runbook.name) ?? [])]);
    return {
      name: runbook.name,
      rpoSeconds: runbook.objectives.rpoMs / 1000,
      rtoSeconds: runbook.objectives.rtoMs / 1000,
      lastSuccess: success && lastSuccessFacts(success),
      lastGoodAgeSeconds: rpo.ageMs === undefined ? undefined : rpo.ageMs / 1000,
      ...backups,
      drills: lastDrillPerTier(drillsOf.get(runbook.name) ?? []),
      openAlerts: alertCounts.get(runbook.name) ?? zeroBySeverity(),
    };
  });
  const openAlerts = zeroBySeverity();
  for (const counts of alertCounts.values()) for (const s of severities) openAlerts[s] += counts[s];
  const otherRunbookAlerts = new Map([...alertCounts].filter(([name]) => !loaded.has(name)));
  return { runbooks: views, openAlerts, otherRunbookAlerts, finished: finishedWork(runs, drills), staging, at: now };
}

function zeroBySeverity(): Record<Severity, number> {
  return { info: 0, warning: 0, critical: 0 };
}
