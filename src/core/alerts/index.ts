/** What the rest of Lifeboat imports from the alerts module. */
export { alertKey, runbookOfAlertKey, type AlertCondition, type AlertRule, type RuleContext } from './rule.js';
export * from './rules/index.js';
export { evaluateAlerts, evaluateAll, type AlertEvaluation, type EvaluateAlertsInput, type EvaluateAllInput, type EvaluationError } from './evaluate.js';
export { eventNotifier, fanOutNotifier, silentNotifier, stderrNotifier, type Notifier } from './notifier.js';
export { ago, renderAlertLine, severityLabel } from './render.js';
export { compactDuration } from './describe.js';
export { clearStandingAlert, holdStandingAlert, type StandingAlertDeps, type StandingCondition } from './standing.js';
