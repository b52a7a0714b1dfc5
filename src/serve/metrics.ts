/**
 * The Prometheus metrics of `lifeboat serve`, in a registry of their own (not
 * prom-client's global one, so nothing else that loads prom-client can add to
 * or clash with them).
 *
 * Values are read from the store when scraped, not pushed by the scheduler: a
 * backup started from the CLI, the TUI or Slack in another process shows up as
 * surely as one serve ran itself, and a restarted serve reports the truth at
 * once. Each gauge resets before it fills, so a runbook that left the loaded set
 * leaves the output too instead of reporting its last values forever.
 *
 * A series is absent, not zero, when there is nothing to measure (no success
 * yet, no drill yet): a zero timestamp or RTO would read as a real number.
 * Alert by `absent()` or on `lifeboat_alerts_open` (the stale rule raises an
 * alert for a runbook that never backed up).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Clock, Runbook, Store } from '../core/index.js';
import { severities } from './metrics-facts.js';
import { ObservedRunCounter } from './metrics-run-counter.js';
import { sharedScrapeView, type RunbookView, type ScrapeView } from './metrics-scrape-view.js';

export interface MetricsOptions {
  /** The store, opened on demand (the daemon's shared one). */
  store(): Promise<Store>;
  /** The runbooks serve keeps now: the last good version of each, as the scheduler holds them. */
  runbooks(): readonly Runbook[];
  clock: Clock;
  /** Node process metrics (CPU, memory, event loop, GC) as `lifeboat_process_*` / `lifeboat_nodejs_*`; on by default. */
  processMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
}

/** Outcomes each loaded runbook reports from zero, so rate() and increase() see the first one. */
const initialOutcomes: readonly { kind: string; outcome: string }[] = [
  ...(['succeeded', 'partial', 'failed', 'transfer-pending', 'cancelled'] as const).map((outcome) => ({ kind: 'backup', outcome })),
  ...(['met', 'missed', 'failed', 'blocked'] as const).map((outcome) => ({ kind: 'drill', outcome })),
];

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const counter = new ObservedRunCounter(options.clock.now().getTime());
  const view = sharedScrapeView({ ...options, finishedSince: () => counter.readFromMs() });

  /** A gauge refilled from the scrape's view each time it is collected. */
  const viewGauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (gauge: Gauge<L>, v: ScrapeView) => void) => {
    const gauge: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const v = await view();
        gauge.reset();
        fill(gauge, v);
      },
    });
  };

  /** A per-runbook gauge whose value may be missing (then the series is left out). */
  const runbookGauge = (name: string, help: string, value: (r: RunbookView) => number | undefined) =>
    viewGauge(name, help, ['runbook'], (gauge, v) => {
      for (const r of v.runbooks) {
        const x = value(r);
        if (x !== undefined) gauge.set({ runbook: r.name }, x);
      }
    });

  viewGauge('lifeboat_runbooks', 'Runbooks serve is keeping (the last good version of each)', [], (gauge, v) => gauge.set(v.runbooks.length));

  runbookGauge('lifeboat_backup_last_success_timestamp_seconds', 'End of the last successful (or partial) backup, unix seconds', (r) => r.lastSuccess?.timestampSeconds);
  runbookGauge('lifeboat_backup_last_success_duration_seconds', 'Wall time of the last successful (or partial) backup', (r) => r.lastSuccess?.durationSeconds);
  runbookGauge('lifeboat_backup_last_success_source_bytes', 'Plaintext size of the data in the last successful backup', (r) => r.lastSuccess?.sourceBytes);
  runbookGauge('lifeboat_backup_last_success_added_bytes', 'Plaintext the last successful backup added to the repository (new after deduplication)', (r) => r.lastSuccess?.addedBytes);
  runbookGauge('lifeboat_backup_last_success_stored_bytes', 'Bytes the last successful backup wrote to packs (added data after compression and encryption)', (r) => r.lastSuccess?.storedBytes);
  runbookGauge('lifeboat_backup_last_success_repository_bytes', 'Size of the hot repository after the last successful backup (packs in its index)', (r) => r.lastSuccess?.repositoryBytes);
  runbookGauge('lifeboat_backup_last_success_age_seconds', 'Seconds since the last successful backup ended; compare with lifeboat_rpo_target_seconds', (r) => r.ageSeconds);
  runbookGauge('lifeboat_rpo_target_seconds', "The runbook's recovery point objective (objectives.rpo)", (r) => r.rpoSeconds);
  runbookGauge('lifeboat_rto_target_seconds', "The runbook's recovery time objective (objectives.rto)", (r) => r.rtoSeconds);

  /** Per runbook and tier, from the newest drill of that tier that measured (or estimated) an RTO. */
  const drillGauge = (name: string, help: string, value: (d: RunbookView['drills'][number]) => number) =>
    viewGauge(name, help, ['runbook', 'tier'], (gauge, v) => {
      for (const r of v.runbooks) for (const d of r.drills) gauge.set({ runbook: r.name, tier: d.tier }, value(d));
    });
  drillGauge('lifeboat_drill_last_rto_seconds', 'RTO of the last drill that produced one: drill start to validated data', (d) => d.rtoSeconds);
  drillGauge('lifeboat_drill_last_rto_target_seconds', 'The RTO target the last drill was judged against', (d) => d.targetSeconds);
  drillGauge('lifeboat_drill_last_timestamp_seconds', 'Start of the last drill that produced an RTO, unix seconds', (d) => d.timestampSeconds);
  drillGauge('lifeboat_drill_last_estimated', '1 when the last RTO was estimated (cold tier, no thaw performed), 0 when measured', (d) => d.estimated);

  viewGauge('lifeboat_alerts_open', 'Open alerts (acknowledged or not) by severity, over every runbook', ['severity'], (gauge, v) => {
    for (const severity of severities) gauge.set({ severity }, v.openAlerts[severity]);
  });
  viewGauge('lifeboat_runbook_alerts_open', 'Open alerts by runbook and severity; runbooks no longer loaded appear while they have open alerts', ['runbook', 'severity'], (gauge, v) => {
    const rows = [...v.runbooks.map((r) => [r.name, r.openAlerts] as const), ...v.otherRunbookAlerts];
    for (const [runbook, counts] of rows) for (const severity of severities) gauge.set({ runbook, severity }, counts[severity]);
  });

  const runs: Counter<'runbook' | 'kind' | 'outcome'> = new Counter({
    name: 'lifeboat_runs_total',
    help: 'Runs and drills that finished (in any process) since this serve started, by runbook, kind (backup, check, restore, forget, tier, verify, drill, path-drill) and outcome (run status or drill verdict)',
    labelNames: ['runbook', 'kind', 'outcome'],
    registers: [registry],
    async collect() {
      const v = await view();
      for (const r of v.runbooks) for (const labels of initialOutcomes) runs.inc({ runbook: r.name, ...labels }, 0);
      for (const w of counter.takeNew(v.finished, v.at.getTime())) runs.inc({ runbook: w.runbook, kind: w.kind, outcome: w.outcome });
    },
  });

  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'lifeboat_' });
  return { registry };
}
