/** The calendar of what the scheduler will do next, computed from runbooks alone (no timers, no state). */
import type { Runbook } from '../runbook/types.js';
import { cronSchedule } from './cron.js';
import { scheduledKinds, scheduleKinds, type ScheduleKind } from './job.js';

export interface UpcomingRun {
  runbook: string;
  kind: ScheduleKind;
  /** The cron fire time (the scheduler may add jitter). */
  at: Date;
  /** The runbook's time zone, for showing `at` as its owners read it. */
  timezone: string;
  /** Drills of runbooks with `drill.announce`: when the notice goes out. */
  announceAt?: Date;
}

/**
 * The next `limit` fires (default 1) of every scheduled kind of every runbook,
 * strictly after `now`, soonest first.
 */
export function nextRuns(runbooks: readonly Runbook[], now: Date, options: { limit?: number } = {}): UpcomingRun[] {
  const limit = options.limit ?? 1;
  const runs: UpcomingRun[] = [];
  for (const runbook of runbooks) {
    const timezone = runbook.schedule?.timezone ?? 'UTC';
    for (const { kind, expression } of scheduledKinds(runbook)) {
      const cron = cronSchedule(expression, timezone);
      for (let at = cron.nextAfter(now), n = 0; at && n < limit; at = cron.nextAfter(at), n++) {
        const announceMs = kind === 'drill' ? runbook.drill.announceMs : undefined;
        runs.push({ runbook: runbook.name, kind, at, timezone, ...(announceMs !== undefined ? { announceAt: new Date(at.getTime() - announceMs) } : {}) });
      }
    }
  }
  return runs.sort(
    (a, b) => a.at.getTime() - b.at.getTime() || a.runbook.localeCompare(b.runbook) || scheduleKinds.indexOf(a.kind) - scheduleKinds.indexOf(b.kind),
  );
}
