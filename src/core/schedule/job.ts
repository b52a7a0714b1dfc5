/** What the scheduler hands out: one fire of one runbook's schedule. */
import type { Runbook } from '../runbook/types.js';
import { hasLockedLocation } from '../copies/locked-locations.js';

/** In the order they are considered when several are due at once (a catch-up at start-up). */
export const scheduleKinds = ['backup', 'verify', 'drill', 'tier', 'copy', 'maintain'] as const;
export type ScheduleKind = (typeof scheduleKinds)[number];

export interface Job {
  runbook: string;
  kind: ScheduleKind;
  /** The cron fire this job is for. */
  scheduledAt: Date;
  /** When it runs: scheduledAt plus jitter, or the start-up time for a catch-up. */
  runAt: Date;
  /** A fire missed while the scheduler was down (or asleep), run late, once. */
  catchUp: boolean;
}

/**
 * Why a fire did not run:
 * - `overlap`: a job of the same runbook was still running (all kinds of one
 *   runbook touch the same repository, so they never run side by side);
 * - `missed`: it fell while the scheduler was down or asleep, longer ago than the
 *   grace window (or a later fire superseded it);
 * - `shutting-down`: it came due while the scheduler was being stopped.
 */
export type SkipReason = 'overlap' | 'missed' | 'shutting-down';

/**
 * Object Lock retention must be extended before it runs out, whether or not
 * anyone remembered to schedule it: a runbook with a locked location (hot, cold, a copy) gets a
 * daily `maintain` unless `schedule.maintain` says when.
 */
export const DEFAULT_MAINTAIN_CRON = '30 3 * * *';

/** The cron expressions a runbook schedules, in `scheduleKinds` order. */
export function scheduledKinds(runbook: Runbook): { kind: ScheduleKind; expression: string }[] {
  const schedule = runbook.schedule;
  // Hot, cold or any copy: the scheduled maintain (no --copy) covers every locked location.
  const locked = hasLockedLocation(runbook);
  return scheduleKinds.flatMap((kind) => {
    const expression = schedule?.[kind] ?? (kind === 'maintain' && locked ? DEFAULT_MAINTAIN_CRON : undefined);
    return expression === undefined ? [] : [{ kind, expression }];
  });
}

/** One line for a log, an audit record or a Slack message. */
export function describeSkip(job: Job, reason: SkipReason): string {
  const what = `scheduled ${job.kind} of ${job.runbook} for ${job.scheduledAt.toISOString()}`;
  switch (reason) {
    case 'overlap':
      return `${what} skipped: another job of ${job.runbook} was still running`;
    case 'missed':
      return `${what} skipped: missed while the scheduler was not running, outside the grace window`;
    case 'shutting-down':
      return `${what} skipped: the scheduler was shutting down`;
  }
}
