/**
 * The words the plain-text sinks (ntfy, PagerDuty, email) share for one
 * delivery: a label for the transition (`CRITICAL`, `RESOLVED`…), a one-line
 * summary and a short body. Slack has its own Block Kit message.
 */
import type { AlertRecord, AlertTransition } from '../../store/records.js';
import type { SinkMessage } from '../sink.js';

/** `CRITICAL`, `WARNING (escalated)`, `CRITICAL (still open)`, `ACKNOWLEDGED`, `RESOLVED`. */
export function transitionLabel(transition: AlertTransition, alert: Pick<AlertRecord, 'severity'>): string {
  const severity = alert.severity.toUpperCase();
  switch (transition) {
    case 'raised':
      return severity;
    case 'escalated':
      return `${severity} (escalated)`;
    case 'repeated':
      return `${severity} (still open)`;
    case 'acknowledged':
      return 'ACKNOWLEDGED';
    case 'resolved':
      return 'RESOLVED';
  }
}

/** `CRITICAL app-data: backup failed: …` — the first line of the message, kept short. */
export function summaryLine(message: Pick<SinkMessage, 'transition' | 'alert'>, max = 200): string {
  const first = message.alert.message.split('\n')[0] ?? '';
  const line = `${transitionLabel(message.transition, message.alert)} ${message.alert.runbook}: ${first}`;
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** The facts of the alert, one per line, for a text body. */
export function detailLines(message: Pick<SinkMessage, 'transition' | 'alert' | 'at'>): string[] {
  const { alert } = message;
  return [
    alert.message,
    '',
    `runbook:    ${alert.runbook}`,
    `rule:       ${alert.rule}`,
    `severity:   ${alert.severity}`,
    `status:     ${alert.status}${alert.ackedBy !== undefined ? ` (acknowledged by ${alert.ackedBy})` : ''}`,
    `first seen: ${alert.firstSeen}`,
    `last seen:  ${alert.lastSeen} (${alert.count} time${alert.count === 1 ? '' : 's'})`,
    `alert key:  ${alert.key}`,
    `at:         ${message.at} (${message.transition})`,
  ];
}
