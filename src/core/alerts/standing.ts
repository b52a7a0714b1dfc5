/**
 * Alerts about a condition the caller observes itself rather than one a rule
 * reads from run history — e.g. serve finding a runbook file it can no longer
 * load. Same semantics as evaluateAlerts: a key that is already open is
 * updated without paging again; clearing it resolves and notifies once.
 * The store is written before the notifier hears of it.
 */
import type { Clock } from '../clock.js';
import type { AlertRecord, Severity } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Notifier } from './notifier.js';

export interface StandingAlertDeps {
  store: Store;
  notifier: Notifier;
  clock: Clock;
}

export interface StandingCondition {
  key: string;
  runbook: string;
  rule: string;
  severity: Severity;
  message: string;
}

/** Raise (or keep up to date) the alert for a condition that holds now. Returns the record. */
export async function holdStandingAlert(deps: StandingAlertDeps, c: StandingCondition): Promise<AlertRecord> {
  const at = deps.clock.now().toISOString();
  const existing = await deps.store.getAlert(c.key);
  if (existing?.status === 'open') {
    const next: AlertRecord = { ...existing, severity: c.severity, message: c.message, lastSeen: at, count: existing.count + 1 };
    await deps.store.putAlert(next);
    return next;
  }
  const alert: AlertRecord = { key: c.key, runbook: c.runbook, rule: c.rule, severity: c.severity, message: c.message, firstSeen: at, lastSeen: at, count: 1, status: 'open' };
  await deps.store.putAlert(alert);
  await deps.notifier.raised(alert);
  return alert;
}

/** Resolve the alert with this key if it is open; returns it, or undefined when nothing was open. */
export async function clearStandingAlert(deps: StandingAlertDeps, key: string): Promise<AlertRecord | undefined> {
  const existing = await deps.store.getAlert(key);
  if (existing?.status !== 'open') return undefined;
  const resolved: AlertRecord = { ...existing, status: 'resolved', resolvedAt: deps.clock.now().toISOString() };
  await deps.store.putAlert(resolved);
  await deps.notifier.resolved(resolved);
  return resolved;
}
