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
import { rpoState, type Clock, type Runbook, type Severity, type Store } from '../core/index.js';
import { finishedWork, lastDrillPerTier, lastSuccessFacts, openAlertCounts, severities, type DrillFacts, type FinishedWork, type LastSuccessFacts } from './metrics-facts.js';

export interface RunbookView {
  name: string;
  rpoSeconds: number;
  rtoSeconds: number;
  lastSuccess?: LastSuccessFacts;
  /** rpoState's age of the last good backup, in seconds: the age `status` prints and the stale rule compares with the RPO. */
  ageSeconds?: number;
  drills: DrillFacts[];
  openAlerts: Record<Severity, number>;
}

export interface ScrapeView {
  runbooks: RunbookView[];
  /** Open alerts by severity over every runbook the store has alerts for, loaded or not. */
  openAlerts: Record<Severity, number>;
  /** Open alerts of runbooks outside the loaded set (removed, or not valid). */
  otherRunbookAlerts: Map<string, Record<Severity, number>>;
  finished: FinishedWork[];
}

export interface ScrapeViewSource {
  store(): Promise<Store>;
  runbooks(): readonly Runbook[];
  clock: Clock;
}

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
  const [runs, drills, alerts] = await Promise.all([store.listRuns(), store.listDrills(), store.listAlerts({ status: 'open' })]);
  // The time is read after the store, so an age is never computed against a moment before the record was read.
  const now = source.clock.now();
  const alertCounts = openAlertCounts(alerts);
  const loaded = new Set(runbooks.map((r) => r.name));
  const views = runbooks.map((runbook): RunbookView => {
    const rpo = rpoState(runs.filter((r) => r.runbook === runbook.name), runbook.objectives.rpoMs, now);
    return {
      name: runbook.name,
      rpoSeconds: runbook.objectives.rpoMs / 1000,
      rtoSeconds: runbook.objectives.rtoMs / 1000,
      lastSuccess: rpo.lastGood && lastSuccessFacts(rpo.lastGood),
      ageSeconds: rpo.ageMs === undefined ? undefined : rpo.ageMs / 1000,
      drills: lastDrillPerTier(drills.filter((d) => d.runbook === runbook.name)),
      openAlerts: alertCounts.get(runbook.name) ?? zeroBySeverity(),
    };
  });
  const openAlerts = zeroBySeverity();
  for (const counts of alertCounts.values()) for (const s of severities) openAlerts[s] += counts[s];
  const otherRunbookAlerts = new Map([...alertCounts].filter(([name]) => !loaded.has(name)));
  return { runbooks: views, openAlerts, otherRunbookAlerts, finished: finishedWork(runs, drills) };
}

function zeroBySeverity(): Record<Severity, number> {
  return { info: 0, warning: 0, critical: 0 };
}
