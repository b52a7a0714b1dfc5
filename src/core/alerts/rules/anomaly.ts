/**
 * The latest successful backup's size, file count or duration is far from the
 * runbook's recent history: more than `alerts.anomaly.threshold` spreads away
 * from the median of the `window` successful runs before it, where the spread is
 * the MAD scaled to a standard deviation (robust-stats.ts). Silent until
 * `minHistory` runs of history exist. One key per metric, so a size alert and a
 * duration alert come and go independently.
 *
 * The spread has a floor — 5% of the median, and a small absolute amount per
 * metric — because history is often exactly flat (a static dataset adds 0 B
 * every night, holds the same 10,000 files): a MAD of 0 would make any change
 * at all an anomaly. With the default threshold of 3.5 the floor means a run
 * must be ~18% and at least 14 MiB / 70 files / 17 s away from a flat history.
 */
import type { RunRecord } from '../../store/records.js';
import { formatBytes } from '../../format.js';
import { compactDuration, formatCount, formatRange } from '../describe.js';
import { MAD_TO_SIGMA, median, medianAbsoluteDeviation } from '../robust-stats.js';
import { alertKey, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

/** The spread never counts as less than this fraction of the median. */
export const RELATIVE_SPREAD_FLOOR = 0.05;

export interface AnomalyMetric {
  /** Last segment of the key. */
  name: 'bytes' | 'files' | 'duration';
  value(run: RunRecord): number | undefined;
  format(n: number): string;
  /** The smallest spread that counts, in the metric's unit. */
  absoluteFloor: number;
  /** "backup added 12 MiB" / "the last 10 successful runs added …". */
  verb: { latest: string; history: string };
}

export const anomalyMetrics: readonly AnomalyMetric[] = [
  {
    name: 'bytes',
    // bytesStored is what the repository grew by (the ADDED column of `history`); older records only have bytesNew.
    value: (r) => r.stats?.bytesStored ?? r.stats?.bytesNew,
    format: formatBytes,
    absoluteFloor: 4 * 1024 * 1024,
    verb: { latest: 'added', history: 'added' },
  },
  {
    name: 'files',
    value: (r) => r.stats?.files,
    format: formatCount,
    absoluteFloor: 20,
    verb: { latest: 'holds', history: 'held' },
  },
  {
    name: 'duration',
    value: (r) => r.durationMs,
    format: compactDuration,
    absoluteFloor: 5_000,
    verb: { latest: 'took', history: 'took' },
  },
];

export const anomalyRule: AlertRule = {
  name: 'anomaly',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const { window, minHistory, threshold } = ctx.runbook.alerts.anomaly;
    // Partial runs are left out: a source that failed makes a run small for a reason failed-run already reports.
    const successes = ctx.runs.filter((r) => r.kind === 'backup' && r.status === 'succeeded');
    const latest = successes[0];
    if (!latest) return [];
    const earlier = successes.slice(1, 1 + window);
    const out: AlertCondition[] = [];
    for (const metric of anomalyMetrics) {
      const value = metric.value(latest);
      if (value === undefined) continue;
      const history = earlier.flatMap((r) => {
        const v = metric.value(r);
        return v === undefined ? [] : [v];
      });
      if (history.length < minHistory) continue;
      const center = median(history);
      const mad = medianAbsoluteDeviation(history, center);
      const spread = Math.max(MAD_TO_SIGMA * mad, RELATIVE_SPREAD_FLOOR * Math.abs(center), metric.absoluteFloor);
      const deviations = Math.abs(value - center) / spread;
      if (deviations <= threshold) continue;
      const min = Math.min(...history);
      const max = Math.max(...history);
      const runs = history.length === 1 ? 'the last successful run' : `the last ${history.length} successful runs`;
      out.push({
        key: alertKey('anomaly', ctx.runbook.name, metric.name),
        severity: 'warning',
        message:
          `backup ${metric.verb.latest} ${metric.format(value)}${metric.name === 'files' ? ' files' : ''}; ` +
          (metric.format(min) === metric.format(max)
            ? `${runs} ${history.length === 1 ? '' : 'each '}${metric.verb.history} ${metric.format(min)}`
            : `${runs} ${metric.verb.history} ${formatRange(min, max, metric.format)} (median ${metric.format(center)})`),
        evidence: {
          metric: metric.name,
          runId: latest.id,
          value,
          median: center,
          mad,
          spread,
          deviations: Math.round(deviations * 10) / 10,
          threshold,
          history: history.length,
          min,
          max,
          historyRunIds: earlier.map((r) => r.id),
        },
      });
    }
    return out;
  },
};
