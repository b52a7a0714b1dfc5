/**
 * Turns what the rules see into stored alerts, after every run and on a timer.
 *
 * For each condition a rule returns:
 * - no open alert with its key → a new alert (count 1) and `notifier.raised`;
 * - an open alert with its key → lastSeen, count + 1, message and severity
 *   updated, and NOT notified again: the same condition does not page twice.
 *   The one exception is a rise in severity (partial → failed run, warning →
 *   critical), which pages again unless someone has acknowledged the alert.
 * For each open alert of this runbook whose rule ran and no longer returns its
 * key → resolved, and `notifier.resolved`.
 *
 * Acknowledging does not close an alert: it stays open (and keeps counting)
 * until the condition clears, but is never re-notified.
 *
 * The store is written before any sink hears of an alert, so the record exists
 * whatever a sink does. A rule that throws leaves its alerts as they are (it
 * cannot say whether they still hold); a sink that throws is reported. Both end
 * up in `errors`; neither stops the evaluation.
 */
import type { Clock } from '../clock.js';
import type { Runbook } from '../runbook/types.js';
import type { AlertRecord, Severity } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Notifier } from './notifier.js';
import type { AlertCondition, AlertRule, RuleContext } from './rule.js';
import { builtinRules } from './rules/index.js';

export interface EvaluateAlertsInput {
  runbook: Runbook;
  store: Store;
  clock: Clock;
  notifier: Notifier;
  /** Defaults to every built-in rule. */
  rules?: readonly AlertRule[];
}

export interface EvaluationError {
  runbook: string;
  /** `rule <name>`, `notifier` or `store`. */
  source: string;
  message: string;
}

export interface AlertEvaluation {
  /** New alerts (notified). */
  raised: AlertRecord[];
  /** Open alerts whose condition still holds (notified again only when their severity rose and nobody acked). */
  updated: AlertRecord[];
  /** Alerts whose condition cleared (notified). */
  resolved: AlertRecord[];
  /** Every condition that holds now, with its rule's evidence. */
  conditions: (AlertCondition & { rule: string })[];
  errors: EvaluationError[];
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export async function evaluateAlerts(input: EvaluateAlertsInput): Promise<AlertEvaluation> {
  const { runbook, store, notifier } = input;
  const rules = input.rules ?? builtinRules;
  const now = input.clock.now();
  const at = now.toISOString();
  const out: AlertEvaluation = { raised: [], updated: [], resolved: [], conditions: [], errors: [] };

  const [runs, drills, open] = await Promise.all([
    store.listRuns({ runbook: runbook.name }),
    store.listDrills({ runbook: runbook.name }),
    store.listAlerts({ runbook: runbook.name, status: 'open' }),
  ]);
  const ctx: RuleContext = { runbook, runs, drills, now };

  const holding = new Map<string, AlertCondition & { rule: string }>();
  const evaluated = new Set<string>();
  for (const rule of rules) {
    try {
      for (const condition of rule.evaluate(ctx)) {
        if (!holding.has(condition.key)) holding.set(condition.key, { ...condition, rule: rule.name });
      }
      evaluated.add(rule.name);
    } catch (e) {
      out.errors.push({ runbook: runbook.name, source: `rule ${rule.name}`, message: messageOf(e) });
    }
  }
  out.conditions = [...holding.values()];

  const notify = async (kind: 'raised' | 'resolved', alert: AlertRecord): Promise<void> => {
    try {
      await notifier[kind](alert);
    } catch (e) {
      out.errors.push({ runbook: runbook.name, source: 'notifier', message: `${kind} ${alert.key}: ${messageOf(e)}` });
    }
  };

  for (const c of holding.values()) {
    // Read again right before writing, to keep an acknowledgement made since the list above.
    const existing = await store.getAlert(c.key);
    if (existing?.status === 'open') {
      const next: AlertRecord = { ...existing, rule: c.rule, severity: c.severity, message: c.message, lastSeen: at, count: existing.count + 1 };
      await store.putAlert(next);
      out.updated.push(next);
      if (RANK[c.severity] > RANK[existing.severity] && !existing.ackedBy) await notify('raised', next);
    } else {
      // A resolved alert with the same key is replaced: the condition is back, and it is a new alert.
      const alert: AlertRecord = { key: c.key, runbook: runbook.name, rule: c.rule, severity: c.severity, message: c.message, firstSeen: at, lastSeen: at, count: 1, status: 'open' };
      await store.putAlert(alert);
      out.raised.push(alert);
      await notify('raised', alert);
    }
  }

  for (const alert of open) {
    // Only a rule that ran (and did not throw) can clear its alerts; alerts of other rules are not ours to close.
    if (holding.has(alert.key) || !evaluated.has(alert.rule)) continue;
    const current = (await store.getAlert(alert.key)) ?? alert;
    if (current.status !== 'open') continue;
    const resolved: AlertRecord = { ...current, status: 'resolved', resolvedAt: at };
    await store.putAlert(resolved);
    out.resolved.push(resolved);
    await notify('resolved', resolved);
  }
  return out;
}

export interface EvaluateAllInput {
  store: Store;
  clock: Clock;
  notifier: Notifier;
  rules?: readonly AlertRule[];
}

/**
 * Every runbook in turn, for the timer (stale backups age without any run to
 * trigger an evaluation). One runbook's failure is reported and the rest go on.
 */
export async function evaluateAll(runbooks: readonly Runbook[], input: EvaluateAllInput): Promise<AlertEvaluation> {
  const all: AlertEvaluation = { raised: [], updated: [], resolved: [], conditions: [], errors: [] };
  for (const runbook of runbooks) {
    try {
      const one = await evaluateAlerts({ ...input, runbook });
      all.raised.push(...one.raised);
      all.updated.push(...one.updated);
      all.resolved.push(...one.resolved);
      all.conditions.push(...one.conditions);
      all.errors.push(...one.errors);
    } catch (e) {
      all.errors.push({ runbook: runbook.name, source: 'store', message: messageOf(e) });
    }
  }
  return all;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
