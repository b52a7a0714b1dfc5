/** Neutral text renderings of an alert, shared by stderr, the CLI table and the TUI. */
import type { AlertRecord, Severity } from '../store/records.js';
import { compactDuration } from './describe.js';

const LABEL: Record<Severity, string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' };
const WIDTH = Math.max(...Object.values(LABEL).map((l) => l.length), 'RESOLVED'.length);

export function severityLabel(severity: Severity): string {
  return LABEL[severity];
}

/** "3h ago", or "just now" inside a second (evaluations stamp several alerts at once). */
export function ago(iso: string | undefined, now: Date): string {
  if (!iso) return 'never';
  const ms = now.getTime() - Date.parse(iso);
  return ms < 1000 ? 'just now' : `${compactDuration(ms)} ago`;
}

/**
 * `CRITICAL stale:app-data  last successful backup 27h ago, RPO 26h  (first seen 3h ago, 4×)`
 * with `, acked by alice 1h ago` when acknowledged, and `RESOLVED … (was critical, …, resolved 5m ago)`
 * once cleared.
 */
export function renderAlertLine(alert: AlertRecord, now: Date): string {
  const facts: string[] = [];
  if (alert.status === 'resolved') facts.push(`was ${alert.severity}`);
  facts.push(`first seen ${ago(alert.firstSeen, now)}`, `${alert.count}×`);
  if (alert.ackedBy) facts.push(`acked by ${alert.ackedBy} ${ago(alert.ackedAt, now)}`);
  if (alert.status === 'resolved') facts.push(`resolved ${ago(alert.resolvedAt, now)}`);
  const label = alert.status === 'resolved' ? 'RESOLVED' : LABEL[alert.severity];
  return `${label.padEnd(WIDTH)} ${alert.key}  ${alert.message}  (${facts.join(', ')})`;
}
