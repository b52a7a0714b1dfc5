/**
 * The latest drill's RTO is well above the median of earlier drills — the
 * restore is getting slower, before (or after) it crosses the target.
 *
 * "Well above" is more than 1.5× the median AND at least 10 s more: drills are
 * few and far between, so there is no spread to lean on, and a demo-sized drill
 * going from 2 s to 4 s is noise, not a regression. Silent until 3 earlier
 * drills exist. Only drills of the same tier and the same kind of measurement
 * are compared (a cold-tier estimate is not a slower hot restore).
 */
import { compactDuration, formatRange } from '../describe.js';
import { median } from '../robust-stats.js';
import { alertKey, measuredDrills, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const RTO_REGRESSION_RATIO = 1.5;
export const RTO_REGRESSION_MIN_INCREASE_MS = 10_000;
export const RTO_REGRESSION_MIN_HISTORY = 3;

export const rtoRegressionRule: AlertRule = {
  name: 'rto-regression',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const [latest, ...rest] = measuredDrills(ctx.drills);
    if (!latest) return [];
    const earlier = rest.filter((d) => d.tier === latest.tier && (d.estimated === true) === (latest.estimated === true)).slice(0, ctx.runbook.alerts.anomaly.window);
    if (earlier.length < RTO_REGRESSION_MIN_HISTORY) return [];
    const times = earlier.map((d) => d.rtoMs);
    const center = median(times);
    if (latest.rtoMs <= RTO_REGRESSION_RATIO * center || latest.rtoMs - center < RTO_REGRESSION_MIN_INCREASE_MS) return [];
    const ratio = latest.rtoMs / center;
    return [
      {
        key: alertKey('rto-regression', ctx.runbook.name),
        severity: 'warning',
        message:
          `drill took ${compactDuration(latest.rtoMs)}, ${ratio.toFixed(1)}× the median; ` +
          `the ${earlier.length} earlier drills ${history(times, center)}`,
        evidence: { drillId: latest.id, rtoMs: latest.rtoMs, median: center, ratio: Math.round(ratio * 100) / 100, history: earlier.length, historyDrillIds: earlier.map((d) => d.id), tier: latest.tier },
      },
    ];
  },
};

function history(times: readonly number[], center: number): string {
  const [min, max] = [Math.min(...times), Math.max(...times)];
  if (compactDuration(min) === compactDuration(max)) return `each took ${compactDuration(min)}`;
  return `took ${formatRange(min, max, compactDuration)} (median ${compactDuration(center)})`;
}
