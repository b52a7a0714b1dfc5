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
import {
  GOOD_BACKUP_WINDOW,
  goodBackupStatuses,
  groupByRunbook,
  lastGoodBackup,
  newestWholeDrills,
  rpoState,
  stagingUsage,
  type Clock,
  type DrillRecord,
  type RunRecord,
  type Runbook,
  type Severity,
  type StagingUsage,
  type Store,
} from '../core/index.js';
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

/**
 * A runbook's view as the last scrape computed it, with the record lists it
 * was computed from. A store that keeps its lists between changes (the
 * PostgreSQL store's ListCache) hands out the same record objects until a
 * record changes, so lists holding the same records in the same order give
 * the same facts: the next scrape reuses them instead of parsing the same
 * times again for 500 runbooks when one changed. A store that reads afresh
 * (the JSON file) gives new objects each time, and every view is computed.
 */
interface KeptView {
  runbook: Runbook;
  inputs: readonly (readonly object[])[];
  /** The last good backup (rpo.ts), whose age is computed at each scrape. */
  lastGood?: RunRecord;
  view: Omit<RunbookView, 'lastGoodAgeSeconds' | 'openAlerts'>;
}

/** Views kept from one scrape to the next, by runbook name. */
export type ScrapeMemo = Map<string, KeptView>;

/** Returns a loader: concurrent calls share one store read; a call after it settled reads again. */
export function sharedScrapeView(source: ScrapeViewSource): () => Promise<ScrapeView> {
  let inFlight: Promise<ScrapeView> | undefined;
  const memo: ScrapeMemo = new Map();
  return () => {
    if (!inFlight) {
      inFlight = loadScrapeView(source, memo).finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  };
}

/** `memo`: what the previous scrape computed (sharedScrapeView keeps one); updated in place. */
export async function loadScrapeView(source: ScrapeViewSource, memo: ScrapeMemo = new Map()): Promise<ScrapeView> {
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
  const failedOf = groupByRunbook(failed);
  const latestOf = groupByRunbook(latest);
  const drillsOf = groupByRunbook([...hot, ...cold]);
  const none: readonly RunRecord[] = [];
  const views = runbooks.map((runbook): RunbookView => {
    const inputs = [goodOf.get(runbook.name) ?? none, succeededOf.get(runbook.name) ?? none, failedOf.get(runbook.name) ?? none, latestOf.get(runbook.name) ?? none, drillsOf.get(runbook.name) ?? []];
    let kept = memo.get(runbook.name);
    if (kept === undefined || kept.runbook !== runbook || !sameLists(kept.inputs, inputs)) {
      kept = { runbook, inputs, ...runbookFacts(runbook, inputs as ViewInputs) };
      memo.set(runbook.name, kept);
    }
    const rpo = rpoState(kept.lastGood ? [kept.lastGood] : none, runbook.objectives.rpoMs, now);
    return { ...kept.view, lastGoodAgeSeconds: rpo.ageMs === undefined ? undefined : rpo.ageMs / 1000, openAlerts: alertCounts.get(runbook.name) ?? zeroBySeverity() };
  });
  for (const name of memo.keys()) if (!loaded.has(name)) memo.delete(name);
  const openAlerts = zeroBySeverity();
  for (const counts of alertCounts.values()) for (const s of severities) openAlerts[s] += counts[s];
  const otherRunbookAlerts = new Map([...alertCounts].filter(([name]) => !loaded.has(name)));
  return { runbooks: views, openAlerts, otherRunbookAlerts, finished: finishedWork(runs, drills), staging, at: now };
}

type ViewInputs = [good: readonly RunRecord[], succeeded: readonly RunRecord[], failed: readonly RunRecord[], latest: readonly RunRecord[], drills: readonly DrillRecord[]];

/** The facts of a runbook's view that do not depend on the time of the scrape. */
function runbookFacts(runbook: Runbook, [good, succeeded, failed, latest, drills]: ViewInputs): Pick<KeptView, 'lastGood' | 'view'> {
  const success = lastSucceededBackup(succeeded);
  return {
    lastGood: lastGoodBackup(good),
    view: {
      name: runbook.name,
      rpoSeconds: runbook.objectives.rpoMs / 1000,
      rtoSeconds: runbook.objectives.rtoMs / 1000,
      lastSuccess: success && lastSuccessFacts(success),
      ...backupFacts([...failed, ...latest, ...succeeded]),
      drills: lastDrillPerTier(drills),
    },
  };
}

/** The same records in the same order, list by list (by identity: records are never changed in place). */
function sameLists(a: readonly (readonly object[])[], b: readonly (readonly object[])[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

function zeroBySeverity(): Record<Severity, number> {
  return { info: 0, warning: 0, critical: 0 };
}
