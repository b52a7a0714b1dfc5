/**
 * Alerts about a condition the caller observes itself rather than one a rule
 * reads from run history — e.g. serve finding a runbook file it can no longer
 * load. Same semantics as evaluateAlerts: a key that is already open is
 * updated without paging again; clearing it resolves and notifies once.
 * Raising and resolving write their deliveries (the outbox) with the alert,
 * routed by lifeboat.yaml's default routes, or by the runbook's own when the
 * caller knows them (e.g. its last good version). The store is written before
 * the notifier hears of it.
 */
import type { Clock } from '../clock.js';
import type { LifeboatConfig } from '../config/types.js';
import { deliveriesFor, toldSinks } from '../notify/routing.js';
import type { Runbook } from '../runbook/types.js';
import type { AlertRecord, Severity } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Notifier } from './notifier.js';

export interface StandingAlertDeps {
  store: Store;
  notifier: Notifier;
  clock: Clock;
  config?: LifeboatConfig;
}

export interface StandingCondition {
  key: string;
  runbook: string;
  rule: string;
  severity: Severity;
  message: string;
  /** The runbook's alert routes, when known; else lifeboat.yaml's defaults. */
  routes?: Pick<Runbook, 'alerts'>;
}

const noRoutes: Pick<Runbook, 'alerts'> = { alerts: { anomaly: { window: 0, minHistory: 0, threshold: 0 } } };

/** Raise (or keep up to date) the alert for a condition that holds now. Returns the record. */
export async function holdStandingAlert(deps: StandingAlertDeps, c: StandingCondition): Promise<AlertRecord> {
  const at = deps.clock.now().toISOString();
  const existing = await deps.store.getAlert(c.key);
  if (existing?.status === 'open') {
    const next: AlertRecord = { ...existing, severity: c.severity, message: c.message, lastSeen: at, count: existing.count + 1 };
    await deps.store.putAlert(next);
    return next;
  }
  const alert: AlertRecord = { key: c.key, runbook: c.runbook, rule: c.rule, severity: c.severity, message: c.message, firstSeen: at, lastSeen: at, count: 1, status: 'open', lastNotifiedAt: at };
  await deps.store.putAlert(alert, deliveriesFor({ alert, transition: 'raised', runbook: c.routes ?? noRoutes, config: deps.config, clock: deps.clock }));
  await deps.notifier.raised(alert);
  return alert;
}

/** Resolve the alert with this key if it is open; returns it, or undefined when nothing was open. */
export async function clearStandingAlert(deps: StandingAlertDeps, key: string, routes?: Pick<Runbook, 'alerts'>): Promise<AlertRecord | undefined> {
  const existing = await deps.store.getAlert(key);
  if (existing?.status !== 'open') return undefined;
  const resolved: AlertRecord = { ...existing, status: 'resolved', resolvedAt: deps.clock.now().toISOString() };
  // Whoever was told of it hears it cleared, whatever the routes say now.
  const told = toldSinks(await deps.store.listDeliveries({ runbook: existing.runbook }), existing);
  await deps.store.putAlert(resolved, deliveriesFor({ alert: resolved, transition: 'resolved', runbook: routes ?? noRoutes, config: deps.config, clock: deps.clock, told }));
  await deps.notifier.resolved(resolved);
  return resolved;
}
