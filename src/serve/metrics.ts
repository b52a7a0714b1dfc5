/**
 * The Prometheus metrics of `lifeboat serve`, in a registry of their own (not
 * prom-client's global one, so nothing else that loads prom-client can add to
 * or clash with them).
 *
 * Values are read from the store when scraped, not pushed by the scheduler: a
 * backup started from the CLI, the TUI or Slack in another process shows up as
 * surely as one serve ran itself, and a restarted serve reports the truth at
 * once. Each gauge holds exactly the series of the last scrape (metrics-gauge-sync.ts),
 * so a runbook that left the loaded set leaves the output too instead of
 * reporting its last values forever.
 *
 * A series is absent, not zero, when there is nothing to measure (no success
 * yet, no drill yet): a zero timestamp or RTO would read as a real number.
 * Alert by `absent()` or on `lifeboat_alerts_open` (the stale rule raises an
 * alert for a runbook that never backed up).
 *
 * Names follow Prometheus' conventions, checked by `promtool check metrics` in
 * test/serve/metrics-promtool.e2e.test.ts: `_total` only on counters, base
 * units in the name, and Node's process metrics under the standard names
 * (`process_*`, `nodejs_*`) that shared dashboards and alerts expect.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Clock, Runbook, Store } from '../core/index.js';
import { buildInfo, type BuildInfo } from './metrics-build-info.js';
import { severities } from './metrics-facts.js';
import { gaugeSync, type PutSeries } from './metrics-gauge-sync.js';
import { ObservedRunCounter } from './metrics-run-counter.js';
import { withSharedEmptyLabels } from './metrics-shared-labels.js';
import { sharedScrapeView, type RunbookView, type ScrapeView } from './metrics-scrape-view.js';

export interface MetricsOptions {
  /** The store, opened on demand (the daemon's shared one). */
  store(): Promise<Store>;
  /** The runbooks serve keeps now: the last good version of each, as the scheduler holds them. */
  runbooks(): readonly Runbook[];
  clock: Clock;
  /** The state folder: its staging/ is walked for lifeboat_staging_bytes (left out without it). */
  home?: string;
  /** Node process metrics (CPU, memory, event loop, GC) under their standard names `process_*` / `nodejs_*`; on by default. */
  processMetrics?: boolean;
  /** The labels of lifeboat_build_info; this process's by default. */
  build?: BuildInfo;
}

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus
 * keeps for counters (promtool rejects them). Each is the sum of the gauge of
 * the same name without the suffix, labelled by type: `sum without (type)
 * (nodejs_active_handles)` says the same, so they are left out, not renamed.
 */
export const droppedDefaultGauges = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

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

  /** A gauge holding exactly the series `fill` puts from the scrape's view each time it is collected (metrics-gauge-sync.ts). */
  const viewGauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (put: PutSeries<L>, v: ScrapeView) => void) => {
    const gauge: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const v = await view();
        sync((put) => fill(put, v));
      },
    });
    const sync = gaugeSync(gauge, labelNames);
    withSharedEmptyLabels(gauge);
  };

  /** A per-runbook gauge whose value may be missing (then the series is left out). */
  const runbookGauge = (name: string, help: string, value: (r: RunbookView) => number | undefined) =>
    viewGauge(name, help, ['runbook'], (put, v) => {
      for (const r of v.runbooks) {
        const x = value(r);
        if (x !== undefined) put({ runbook: r.name }, x);
      }
    });

  viewGauge('lifeboat_runbooks', 'Runbooks serve is keeping (the last good version of each)', [], (put, v) => put({}, v.runbooks.length));

  // Set once, not read from the store: it answers even when the store does not.
  new Gauge<keyof BuildInfo>({
    name: 'lifeboat_build_info',
    help: 'Always 1; the labels say which Lifeboat (package.json version) and which Node.js serve runs',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ ...(options.build ?? buildInfo()) }, 1);

  runbookGauge('lifeboat_backup_last_success_timestamp_seconds', 'End of the last backup that succeeded (a partial one does not count), unix seconds', (r) => r.lastSuccess?.timestampSeconds);
  runbookGauge('lifeboat_backup_last_success_duration_seconds', 'Wall time of the last backup that succeeded', (r) => r.lastSuccess?.durationSeconds);
  runbookGauge('lifeboat_backup_last_success_source_bytes', 'Plaintext size of the data in the last successful backup', (r) => r.lastSuccess?.sourceBytes);
  runbookGauge('lifeboat_backup_last_success_added_bytes', 'Plaintext the last successful backup added to the repository (new after deduplication)', (r) => r.lastSuccess?.addedBytes);
  runbookGauge('lifeboat_backup_last_success_stored_bytes', 'Bytes the last successful backup wrote to packs (added data after compression and encryption)', (r) => r.lastSuccess?.storedBytes);
  runbookGauge('lifeboat_backup_last_success_repository_bytes', 'Size of the hot repository after the last successful backup (packs in its index)', (r) => r.lastSuccess?.repositoryBytes);
  runbookGauge('lifeboat_backup_last_good_age_seconds', 'Seconds since the last good backup (succeeded or partial) ended, as status and the stale alert count it; compare with lifeboat_rpo_target_seconds', (r) => r.lastGoodAgeSeconds);
  runbookGauge('lifeboat_backup_last_failure_timestamp_seconds', 'End of the last backup that failed or ended partial (some sources not backed up), unix seconds', (r) => r.lastFailureSeconds);
  runbookGauge('lifeboat_backup_last_attempt_timestamp_seconds', 'Start of the last backup, whatever its outcome (one still running included), unix seconds', (r) => r.lastAttemptSeconds);
  runbookGauge(
    'lifeboat_snapshots',
    "The runbook's snapshots in its hot repository, as counted at the end of the last backup whose upload completed (after its retention and tiering; a forget or tier run since then shows at the next backup)",
    (r) => r.snapshots,
  );
  viewGauge(
    'lifeboat_staging_bytes',
    'Bytes in a runbook\'s local staging folder not yet confirmed by its remote repository: uploads of a running backup, or what a transfer-pending run left for the next run or lifeboat resume (files past the first 10000 of a folder are not counted)',
    ['runbook', 'tier'],
    (put, v) => {
      for (const s of v.staging) put({ runbook: s.runbook, tier: s.tier }, s.bytes);
    },
  );
  runbookGauge('lifeboat_rpo_target_seconds', "The runbook's recovery point objective (objectives.rpo)", (r) => r.rpoSeconds);
  runbookGauge('lifeboat_rto_target_seconds', "The runbook's recovery time objective (objectives.rto)", (r) => r.rtoSeconds);

  /** Per runbook and tier, from the newest drill of that tier that measured (or estimated) an RTO. */
  const drillGauge = (name: string, help: string, value: (d: RunbookView['drills'][number]) => number) =>
    viewGauge(name, help, ['runbook', 'tier'], (put, v) => {
      for (const r of v.runbooks) for (const d of r.drills) put({ runbook: r.name, tier: d.tier }, value(d));
    });
  drillGauge('lifeboat_drill_last_rto_seconds', 'RTO of the last drill that produced one: drill start to validated data', (d) => d.rtoSeconds);
  drillGauge('lifeboat_drill_last_rto_target_seconds', 'The RTO target the last drill was judged against', (d) => d.targetSeconds);
  drillGauge('lifeboat_drill_last_timestamp_seconds', 'Start of the last drill that produced an RTO, unix seconds', (d) => d.timestampSeconds);
  drillGauge('lifeboat_drill_last_estimated', '1 when the last RTO was estimated (cold tier, no thaw performed), 0 when measured', (d) => d.estimated);

  viewGauge('lifeboat_alerts_open', 'Open alerts (acknowledged or not) by severity, over every runbook', ['severity'], (put, v) => {
    for (const severity of severities) put({ severity }, v.openAlerts[severity]);
  });
  viewGauge('lifeboat_runbook_alerts_open', 'Open alerts by runbook and severity; runbooks no longer loaded appear while they have open alerts', ['runbook', 'severity'], (put, v) => {
    const rows = [...v.runbooks.map((r) => [r.name, r.openAlerts] as const), ...v.otherRunbookAlerts];
    for (const [runbook, counts] of rows) for (const severity of severities) put({ runbook, severity }, counts[severity]);
  });

  const startedFromZero = new Set<string>();
  const runs: Counter<'runbook' | 'kind' | 'outcome'> = new Counter({
    name: 'lifeboat_runs_total',
    help: 'Runs and drills that finished (in any process) since this serve started, by runbook, kind (backup, check, restore, forget, tier, verify, drill, path-drill) and outcome (run status or drill verdict)',
    labelNames: ['runbook', 'kind', 'outcome'],
    registers: [registry],
    async collect() {
      const v = await view();
      // Once per runbook, not per scrape: a counter's series, once there, stays (4,500 label hashes per scrape otherwise).
      for (const r of v.runbooks) {
        if (startedFromZero.has(r.name)) continue;
        startedFromZero.add(r.name);
        for (const labels of initialOutcomes) runs.inc({ runbook: r.name, ...labels }, 0);
      }
      for (const w of counter.takeNew(v.finished, v.at.getTime())) runs.inc({ runbook: w.runbook, kind: w.kind, outcome: w.outcome });
    },
  });

  withSharedEmptyLabels(runs);

  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    for (const name of droppedDefaultGauges) registry.removeSingleMetric(name);
  }
  return { registry };
}
