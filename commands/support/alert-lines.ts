/**
 * An alert as one line of a headless run's output (the CLI's stderr): the key,
 * so `lifeboat ack <key>` can be typed from it, the severity and the message.
 * The alert is told once, by the event the engine emits when it is raised; a
 * command's result does not list it again.
 */
import type { AlertRecord } from '../../src/core/index.js';

export function alertRaisedLine(alert: AlertRecord): string {
  return `ALERT [${alert.severity}] ${alert.key}: ${alert.message}`;
}

export function alertResolvedLine(alert: AlertRecord): string {
  return `RESOLVED ${alert.key} (was ${alert.severity}): the condition cleared`;
}
