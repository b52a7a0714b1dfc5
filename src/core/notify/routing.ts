/**
 * Which sinks hear of an alert, and the deliveries (outbox records) a
 * transition owes them. Routing needs only the runbook and lifeboat.yaml, never
 * a sink's secret: the process that writes a transition may be one that
 * cannot send (a cron CLI without the Slack token); any process that can
 * delivers it later (./outbox.ts).
 */
import type { Clock } from '../clock.js';
import type { LifeboatConfig } from '../config/types.js';
import { newRecordId } from '../ids.js';
import type { AlertRoute, Runbook } from '../runbook/types.js';
import type { AlertRecord, AlertTransition, DeliveryRecord, Severity } from '../store/records.js';

/** The sink a runbook with today's `alerts.slack: "#chan"` and no `notify` routes to (built from that channel). */
export const IMPLICIT_SLACK_SINK = 'slack';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function severityRank(severity: Severity): number {
  return RANK[severity];
}

/**
 * The runbook's own routes; else lifeboat.yaml's default ones (when it names
 * any); else the implicit Slack sink when the runbook names a channel; else none.
 */
export function alertRoutes(runbook: Pick<Runbook, 'alerts'>, config: Pick<LifeboatConfig, 'alerts'> | undefined): readonly AlertRoute[] {
  if (runbook.alerts.notify !== undefined) return runbook.alerts.notify;
  const defaults = config?.alerts.notify ?? [];
  if (defaults.length > 0) return defaults;
  return runbook.alerts.slack !== undefined ? [{ sink: IMPLICIT_SLACK_SINK }] : [];
}

/** Sink names for an alert of `severity`: a route without a severity takes all, `severity: X` takes X and above. Each name once. */
export function sinksFor(runbook: Pick<Runbook, 'alerts'>, severity: Severity, config: Pick<LifeboatConfig, 'alerts'> | undefined): string[] {
  const names = alertRoutes(runbook, config)
    .filter((r) => r.severity === undefined || RANK[severity] >= RANK[r.severity])
    .map((r) => r.sink);
  return [...new Set(names)];
}

export interface TransitionInput {
  alert: AlertRecord;
  transition: AlertTransition;
  runbook: Pick<Runbook, 'alerts'>;
  config?: Pick<LifeboatConfig, 'alerts'>;
  clock: Clock;
  /**
   * Sinks already told of this raising of the alert. An acknowledgement or a
   * resolution also goes to them, so a page sent while the alert was critical
   * is closed even after its severity fell below the pager's route.
   */
  told?: readonly string[];
}

/** One pending delivery per sink the transition goes to, due now. The store numbers them (`seq`). */
export function deliveriesFor(input: TransitionInput): DeliveryRecord[] {
  const { alert, transition, clock } = input;
  const routed = sinksFor(input.runbook, alert.severity, input.config);
  const closing = transition === 'resolved' || transition === 'acknowledged';
  const sinks = closing ? [...new Set([...routed, ...(input.told ?? [])])] : routed;
  const at = clock.now().toISOString();
  return sinks.map((sink) => ({
    id: newRecordId(clock),
    alertKey: alert.key,
    runbook: alert.runbook,
    sink,
    transition,
    seq: 0,
    alert,
    createdAt: at,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: at,
  }));
}

/** The sinks that were owed a delivery of this raising of the alert (same key, same firstSeen). */
export function toldSinks(deliveries: readonly DeliveryRecord[], alert: Pick<AlertRecord, 'key' | 'firstSeen'>): string[] {
  return [...new Set(deliveries.filter((d) => d.alertKey === alert.key && d.alert.firstSeen === alert.firstSeen).map((d) => d.sink))];
}
