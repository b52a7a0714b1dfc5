/**
 * The Notifier port: where a raised or resolved alert is told to people. The
 * store is not a sink — evaluateAlerts writes it first, so the record exists
 * whatever a sink does. Sinks here: the engine's event stream (TUI, headless
 * CLI), stderr for runs nobody watches, and a fan-out; Slack plugs in as one
 * more Notifier.
 *
 * Contract: `raised` is called once per alert (again only when its severity
 * rises), `resolved` once when it clears. A sink may throw; the caller records
 * the failure and carries on — a broken sink never stops evaluation or the
 * other sinks.
 */
import type { EventSink } from '../events.js';
import type { AlertRecord } from '../store/records.js';
import { compactDuration } from './describe.js';
import { renderAlertLine } from './render.js';

export interface Notifier {
  raised(alert: AlertRecord): Promise<void>;
  resolved(alert: AlertRecord): Promise<void>;
}

/** Tells nobody; for evaluations whose results the caller renders itself. */
export const silentNotifier: Notifier = {
  raised: async () => {},
  resolved: async () => {},
};

/** Emits `alert.raised` / `alert.resolved` on the engine's event stream. */
export function eventNotifier(emit: EventSink): Notifier {
  return {
    raised: async (alert) => emit({ type: 'alert.raised', alert }),
    resolved: async (alert) => emit({ type: 'alert.resolved', alert }),
  };
}

/** One line per alert, for headless runs (cron, systemd) where stderr is the only reader. */
export function stderrNotifier(stream: { write(chunk: string): unknown }): Notifier {
  return {
    raised: async (alert) => {
      stream.write(`lifeboat: alert ${renderAlertLine(alert, new Date(alert.lastSeen))}\n`);
    },
    resolved: async (alert) => {
      const openFor = Date.parse(alert.resolvedAt ?? alert.lastSeen) - Date.parse(alert.firstSeen);
      stream.write(`lifeboat: resolved ${alert.key}  ${alert.message}  (open ${compactDuration(openFor)})\n`);
    },
  };
}

/**
 * Every sink hears every alert, even when an earlier one throws; afterwards the
 * failures are rethrown together (an AggregateError) so the caller can report
 * a broken sink instead of it failing silently.
 */
export function fanOutNotifier(...sinks: Notifier[]): Notifier {
  const all = async (call: (sink: Notifier) => Promise<void>): Promise<void> => {
    const results = await Promise.allSettled(sinks.map(async (s) => call(s)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} of ${sinks.length} alert sinks failed: ${errors.map(describe).join('; ')}`);
  };
  return {
    raised: (alert) => all((s) => s.raised(alert)),
    resolved: (alert) => all((s) => s.resolved(alert)),
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
