/**
 * Turns what the rules see into stored alerts, after every run and on a timer,
 * and writes each transition people must hear of together with its deliveries
 * (the outbox, src/core/notify/outbox.ts) in one store write.
 *
 * For each condition a rule returns:
 * - no open alert with its key → a new alert (count 1): `raised`;
 * - an open alert with its key → lastSeen, message and severity updated, and
 *   NOT told again: the same condition does not page twice. Exceptions:
 *   - its severity rose (partial → failed run, warning → critical) and nobody
 *     acknowledged it: `escalated`;
 *   - it is critical, unacknowledged, and the repeat interval (runbook
 *     `alerts.repeat`, else lifeboat.yaml's, else 4h) has passed since people
 *     were last told: `repeated`.
 * For each open alert of this runbook whose rule ran and no longer returns its
 * key → resolved: `resolved` (also to every sink told of it, so a page sent
 * while it was critical is closed even if its severity fell since).
 *
 * `count` is how many runs saw the condition: an evaluation after a run counts,
 * the timer's (trigger 'timer') only refreshes lastSeen — else serve's minute
 * check would count a failed run again every minute it stays the latest.
 *
 * Acknowledging does not close an alert: it stays open (and keeps counting)
 * until the condition clears, but is not escalated or repeated.
 *
 * The Notifier hears `raised` (and escalations, as raised) and `resolved` for
 * in-process display (TUI, CLI stderr); it is not how people are told — the
 * outbox is. A rule that throws leaves its alerts as they are (it cannot say
 * whether they still hold); a notifier that throws is reported. Both end up in
 * `errors`; neither stops the evaluation.
 */
import type { Clock } from '../clock.js';
import { DEFAULT_REPEAT_MS, type LifeboatConfig } from '../config/types.js';
import { wholeDrills } from '../drill/drill-scope.js';
import { deliveriesFor, severityRank, toldSinks } from '../notify/routing.js';
import type { Runbook } from '../runbook/types.js';
import type { AlertRecord, AlertTransition } from '../store/records.js';
import { defaultStoreLimits, type Store } from '../store/store.js';
import type { Notifier } from './notifier.js';
import type { AlertCondition, AlertRule, RuleContext } from './rule.js';
import { builtinRules } from './rules/index.js';

export interface EvaluateAlertsInput {
  runbook: Runbook;
  store: Store;
  clock: Clock;
  notifier: Notifier;
  /** lifeboat.yaml: alert routes and the repeat interval; absent = defaults. */
  config?: LifeboatConfig;
  /** What prompted the evaluation: a run that just ended (counts), or the timer (does not). Default 'run'. */
  trigger?: 'run' | 'timer';
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
  /** New alerts. */
  raised: AlertRecord[];
  /** Open alerts whose condition still holds (told again only when escalated or repeated). */
  updated: AlertRecord[];
  /** Alerts whose condition cleared. */
  resolved: AlertRecord[];
  /** Every transition written to the outbox, in order. */
  transitions: { transition: AlertTransition; alert: AlertRecord }[];
  /** Every condition that holds now, with its rule's evidence. */
  conditions: (AlertCondition & { rule: string })[];
  errors: EvaluationError[];
}

export async function evaluateAlerts(input: EvaluateAlertsInput): Promise<AlertEvaluation> {
  const { runbook, store, notifier, clock, config } = input;
  const rules = input.rules ?? builtinRules;
  const now = clock.now();
  const at = now.toISOString();
  const counts = (input.trigger ?? 'run') === 'run';
  const repeatMs = runbook.alerts.repeatMs ?? config?.alerts.repeatMs ?? DEFAULT_REPEAT_MS;
  const out: AlertEvaluation = { raised: [], updated: [], resolved: [], transitions: [], conditions: [], errors: [] };

  // As much history as the JSON store keeps per runbook, whatever the store: the rules judge the
  // recent past, and a team's PostgreSQL store (years of runs) must not be read whole per evaluation
  // (serve's timer evaluates every runbook every minute).
  const [runs, drills, open] = await Promise.all([
    store.listRuns({ runbook: runbook.name, limit: defaultStoreLimits.runsPerRunbook }),
    store.listDrills({ runbook: runbook.name, limit: defaultStoreLimits.drillsPerRunbook }),
    store.listAlerts({ runbook: runbook.name, status: 'open' }),
  ]);
  // The rules judge the runbook's restores: a path drill (restore-drill --path) is one path's spot check, not a drill of the runbook (src/core/drill/drill-scope.ts).
  const ctx: RuleContext = { runbook, runs, drills: wholeDrills(drills), now };

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
  /**
   * Decides what the alert becomes from the stored record (`decide`), and
   * writes it with what it owes each sink in one write, only if the stored
   * record is still the one decided on; else decides again on the new one.
   * So a CLI run and serve's timer judging one alert at once never both raise it.
   */
  const settle = async (key: string, decide: (stored: AlertRecord | undefined) => { alert: AlertRecord; transition?: AlertTransition } | undefined) => {
    for (let attempt = 1; ; attempt++) {
      const stored = await store.getAlert(key);
      const decision = decide(stored);
      if (decision === undefined) return undefined;
      const { alert, transition } = decision;
      const told = transition === 'resolved' ? toldSinks(await store.listDeliveries({ runbook: runbook.name }), alert) : [];
      const deliveries = transition === undefined ? [] : deliveriesFor({ alert, transition, runbook, config, clock, told });
      // After a few lost races the last decision is written as it is: an evaluation must end.
      const written = await store.putAlert(alert, deliveries, attempt < 5 ? { ifStored: stored ?? null } : {});
      if (written) {
        if (transition !== undefined) out.transitions.push({ transition, alert });
        return decision;
      }
    }
  };

  for (const c of holding.values()) {
    const decision = await settle(c.key, (existing) => {
      if (existing?.status === 'open') {
        const next: AlertRecord = { ...existing, rule: c.rule, severity: c.severity, message: c.message, lastSeen: at, count: existing.count + (counts ? 1 : 0) };
        const transition = followUp(existing, next, now, repeatMs);
        if (transition !== undefined) next.lastNotifiedAt = at;
        return { alert: next, transition };
      }
      // A resolved alert with the same key is replaced: the condition is back, and it is a new alert.
      const alert: AlertRecord = { key: c.key, runbook: runbook.name, rule: c.rule, severity: c.severity, message: c.message, firstSeen: at, lastSeen: at, count: 1, status: 'open', lastNotifiedAt: at };
      return { alert, transition: 'raised' };
    });
    if (decision === undefined) continue;
    if (decision.transition === 'raised') {
      out.raised.push(decision.alert);
      await notify('raised', decision.alert);
    } else {
      out.updated.push(decision.alert);
      if (decision.transition === 'escalated') await notify('raised', decision.alert);
    }
  }

  for (const alert of open) {
    // Only a rule that ran (and did not throw) can clear its alerts; alerts of other rules are not ours to close.
    if (holding.has(alert.key) || !evaluated.has(alert.rule)) continue;
    const decision = await settle(alert.key, (current) => (current?.status === 'open' ? { alert: { ...current, status: 'resolved', resolvedAt: at }, transition: 'resolved' } : undefined));
    if (decision === undefined) continue;
    out.resolved.push(decision.alert);
    await notify('resolved', decision.alert);
  }
  return out;
}

/** What an open alert seen again owes people: escalated, repeated, or nothing. Acknowledged alerts owe nothing. */
export function followUp(before: AlertRecord, after: AlertRecord, now: Date, repeatMs: number): AlertTransition | undefined {
  if (before.ackedBy !== undefined) return undefined;
  if (severityRank(after.severity) > severityRank(before.severity)) return 'escalated';
  const lastTold = Date.parse(before.lastNotifiedAt ?? before.firstSeen);
  if (after.severity === 'critical' && now.getTime() - lastTold >= repeatMs) return 'repeated';
  return undefined;
}

export interface EvaluateAllInput {
  store: Store;
  clock: Clock;
  notifier: Notifier;
  config?: LifeboatConfig;
  /** Default 'timer': what evaluateAll is for. */
  trigger?: 'run' | 'timer';
  rules?: readonly AlertRule[];
}

/**
 * Every runbook in turn, for the timer (stale backups age without any run to
 * trigger an evaluation). One runbook's failure is reported and the rest go on.
 */
export async function evaluateAll(runbooks: readonly Runbook[], input: EvaluateAllInput): Promise<AlertEvaluation> {
  const all: AlertEvaluation = { raised: [], updated: [], resolved: [], transitions: [], conditions: [], errors: [] };
  for (const runbook of runbooks) {
    try {
      const one = await evaluateAlerts({ trigger: 'timer', ...input, runbook });
      all.raised.push(...one.raised);
      all.updated.push(...one.updated);
      all.resolved.push(...one.resolved);
      all.transitions.push(...one.transitions);
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
