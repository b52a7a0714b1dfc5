/**
 * The alert rule contract. A rule is a pure function of a runbook's recorded
 * history and the current time: it returns the conditions that hold NOW (an
 * empty array when all is well) and never reads the clock, the store or the
 * environment itself. `evaluateAlerts` (evaluate.ts) turns conditions into
 * stored alerts: a new key raises, a key that is still there updates, a key that
 * is gone resolves. So a rule must return the same key for the same condition
 * every time, and must return nothing once the condition has cleared.
 */
import { isPathDrill } from '../drill/drill-scope.js';
import type { Runbook } from '../runbook/types.js';
import type { DrillRecord, RunRecord, Severity } from '../store/records.js';

export interface RuleContext {
  runbook: Runbook;
  /** This runbook's runs (every kind, any status, including running), newest first. */
  runs: readonly RunRecord[];
  /** This runbook's drills of the whole snapshot (including running ones; no path drills: evaluate.ts), newest first. */
  drills: readonly DrillRecord[];
  now: Date;
}

export interface AlertCondition {
  /** Stable: `<rule>:<runbook>[:<metric>]` (see alertKey). */
  key: string;
  severity: Severity;
  /** One line that names its evidence: what was seen, and what it was compared against. */
  message: string;
  /** The numbers behind the message, for `--json`, Slack details and tests. */
  evidence?: Record<string, unknown>;
}

export interface AlertRule {
  /** Kebab-case; the first segment of every key the rule returns. */
  name: string;
  evaluate(ctx: RuleContext): AlertCondition[];
}

/** `<rule>:<runbook>[:<metric>]`. Runbook names are kebab-case, so the key splits back unambiguously. */
export function alertKey(rule: string, runbook: string, metric?: string): string {
  return metric === undefined ? `${rule}:${runbook}` : `${rule}:${runbook}:${metric}`;
}

/** The runbook a key names (its second segment), or undefined for a string that is not a key. */
export function runbookOfAlertKey(key: string): string | undefined {
  const parts = key.split(':');
  return parts.length >= 2 && parts[1] !== '' ? parts[1] : undefined;
}

/** Backup runs that have finished and were not cancelled on purpose: the ones that say how backups go. */
export function finishedBackups(runs: readonly RunRecord[]): RunRecord[] {
  return runs.filter((r) => r.kind === 'backup' && r.status !== 'running' && r.status !== 'cancelled');
}

/** When a run's data point is considered taken (the same reference `status` uses for the RPO age). */
export function runTime(run: RunRecord): string {
  return run.endedAt ?? run.startedAt;
}

/**
 * Drills that have a verdict: not still running, and not cancelled by an
 * operator. restore-drill.ts records a cancel as verdict `failed` with reason
 * `cancelled` (DrillVerdict has no `cancelled`); like a cancelled backup, it
 * says nothing about whether restores work.
 */
export function finishedDrills(drills: readonly DrillRecord[]): DrillRecord[] {
  return drills.filter((d) => d.verdict !== 'running' && !(d.verdict === 'failed' && d.reason === 'cancelled'));
}

/**
 * Drills that measured (or, cold tier, estimated) a time to validated data of
 * the whole runbook: a path drill's RTO is one path's (src/core/drill/drill-scope.ts).
 */
export function measuredDrills(drills: readonly DrillRecord[]): (DrillRecord & { rtoMs: number })[] {
  return drills.filter((d): d is DrillRecord & { rtoMs: number } => (d.verdict === 'met' || d.verdict === 'missed') && typeof d.rtoMs === 'number' && !isPathDrill(d));
}
