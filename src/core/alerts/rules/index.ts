/** Every built-in alert rule, in the order their alerts are listed when raised together. */
import type { AlertRule } from '../rule.js';
import { anomalyRule } from './anomaly.js';
import { copyFailedRule } from './copy-failed.js';
import { drillBlockedRule } from './drill-blocked.js';
import { drillFailedRule } from './drill-failed.js';
import { failedRunRule } from './failed-run.js';
import { rtoOverTargetRule } from './rto-over-target.js';
import { rtoRegressionRule } from './rto-regression.js';
import { staleBackupRule } from './stale-backup.js';
import { verifyFailedRule } from './verify-failed.js';

export const builtinRules: readonly AlertRule[] = [
  failedRunRule,
  staleBackupRule,
  verifyFailedRule,
  copyFailedRule,
  drillFailedRule,
  drillBlockedRule,
  rtoOverTargetRule,
  rtoRegressionRule,
  anomalyRule,
];

export { anomalyMetrics, anomalyRule, RELATIVE_SPREAD_FLOOR, type AnomalyMetric } from './anomaly.js';
export { copyFailedRule } from './copy-failed.js';
export { drillBlockedRule } from './drill-blocked.js';
export { drillFailedRule } from './drill-failed.js';
export { failedRunRule } from './failed-run.js';
export { rtoOverTargetRule } from './rto-over-target.js';
export { RTO_REGRESSION_MIN_HISTORY, RTO_REGRESSION_MIN_INCREASE_MS, RTO_REGRESSION_RATIO, rtoRegressionRule } from './rto-regression.js';
export { staleBackupRule } from './stale-backup.js';
export { verifyFailedRule } from './verify-failed.js';
