/** The alerts a run raised, one line each, for a command's result. */
import type { AlertRecord } from '../../src/core/index.js';

export function alertLines(alerts: readonly AlertRecord[]): string[] {
  return alerts.map((a) => `alert raised: [${a.severity}] ${a.key}: ${a.message}`);
}
