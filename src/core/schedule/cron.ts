/**
 * When a cron expression fires, read in an IANA time zone, with one rule for the
 * days the clocks change: a fire happens once per wall-clock time, never twice
 * and never zero times.
 *
 * What cron-parser 5 does on its own (checked for Europe/Berlin and
 * America/New_York, see test/core/schedule/cron.test.ts):
 * - Spring forward (02:00 → 03:00): a time in the skipped hour ("30 2 * * *")
 *   moves to the same minutes after the jump (03:30 CEST) — but only when the
 *   iteration starts before the jump; started between 03:00 and 03:30 it
 *   returns the next day, so a daemon that reloads in that half hour would
 *   lose the fire.
 * - Fall back (03:00 → 02:00): iterating forward from before the change gives
 *   02:30 once (the first, summer-time pass); started inside the repeated hour
 *   it returns the second 02:30 as well, which would run a daily job twice.
 *   `prev()` lists both passes and skips the spring-forward day entirely.
 *
 * So when the asked-for time lies within a clock change's shift after it,
 * fires come from a forward iteration that starts just before the change.
 * From there cron-parser gives what we want: the skipped time moved past the
 * jump, and a repeated time once (the first pass). Expressions that run in
 * every hour need no such start: they run in both passes of the repeated hour,
 * as Vixie cron does for wildcard hours (each pass is an hour of real time that
 * needs its runs), and nothing of theirs is skipped in spring. The DST tests
 * pin all of this, so a cron-parser upgrade that changes it fails them.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { LifeboatError } from '../errors.js';

const HOUR_MS = 3_600_000;
/** Longer than any clock change in the tz database (the largest is 2h). */
const CHANGE_WINDOW_MS = 3 * HOUR_MS;
/** A fire more than this many cron steps away is "never". */
const MAX_STEPS = 100_000;

/** A parsed cron expression in a time zone; cheap to query many times. */
export interface CronSchedule {
  readonly expression: string;
  readonly timezone: string;
  /** The first fire strictly after `after`, or undefined when it never fires again. */
  nextAfter(after: Date): Date | undefined;
  /** The last fire at or before `atOrBefore`, or undefined when there is none. */
  previousAtOrBefore(atOrBefore: Date): Date | undefined;
}

/** Throws RUNBOOK_INVALID when the expression or zone does not parse (runbooks are checked at load, so this means a caller bypassed that). */
export function cronSchedule(expression: string, timezone = 'UTC'): CronSchedule {
  let cron: CronExpression;
  try {
    cron = CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(0) });
  } catch (e) {
    throw new LifeboatError('RUNBOOK_INVALID', `Bad cron schedule ${JSON.stringify(expression)} in time zone ${timezone}: ${(e as Error).message}`, {
      cause: e,
      details: { expression, timezone },
    });
  }
  // An expression that fires in every hour has no fire a clock change can push past
  // or repeat, so it never needs the earlier start (which can cost thousands of steps).
  const everyHour = cron.fields.hour.values.length === 24;

  const nextAfter = (after: Date): Date | undefined => {
    cron.reset((everyHour ? undefined : beforeRecentChange(after, timezone)) ?? after);
    for (let i = 0; i < MAX_STEPS; i++) {
      const fire = step(() => cron.next());
      if (fire === undefined) return undefined;
      if (fire.getTime() > after.getTime()) return fire;
    }
    return undefined;
  };

  const previousAtOrBefore = (atOrBefore: Date): Date | undefined => {
    let bound = atOrBefore.getTime();
    for (let i = 0; i < MAX_STEPS; i++) {
      // prev() can land on the second pass of a repeated hour or jump over a spring-forward
      // day, so it only gives a starting point; the answer comes from the forward iteration.
      cron.reset(new Date(bound + 1));
      const candidate = step(() => cron.prev());
      if (candidate === undefined) return undefined;
      let last: Date | undefined;
      for (let fire = nextAfter(new Date(candidate.getTime() - 1)); fire && fire.getTime() <= atOrBefore.getTime(); fire = nextAfter(fire)) {
        last = fire;
      }
      if (last) return last;
      bound = candidate.getTime() - 1;
    }
    return undefined;
  };

  return { expression, timezone, nextAfter, previousAtOrBefore };
}

/**
 * When `at` falls within a clock change's shift after it (in the skipped-to
 * hour after spring forward, or in the repeated hour after fall back), the
 * last second before the change; otherwise undefined.
 */
function beforeRecentChange(at: Date, timezone: string): Date | undefined {
  const now = offsetMinutes(at, timezone);
  let lo = at.getTime() - CHANGE_WINDOW_MS;
  const before = offsetMinutes(new Date(lo), timezone);
  if (before === now) return undefined;
  // Zones change on whole seconds; find the change to the second.
  let hi = at.getTime();
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetMinutes(new Date(mid), timezone) === before) lo = mid;
    else hi = mid;
  }
  const shiftMs = Math.abs(before - now) * 60_000;
  return at.getTime() < hi + shiftMs ? new Date(lo) : undefined;
}

/** The next fire strictly after `after`; undefined when none (or the expression does not parse). */
export function nextFire(expression: string, timezone: string | undefined, after: Date): Date | undefined {
  return cronSchedule(expression, timezone).nextAfter(after);
}

/** The last fire at or before `atOrBefore`. */
export function previousFire(expression: string, timezone: string | undefined, atOrBefore: Date): Date | undefined {
  return cronSchedule(expression, timezone).previousAtOrBefore(atOrBefore);
}

/** cron-parser throws when it finds no matching time (a date it cannot reach, or "30 2 31 2 *"); that means "no more fires". */
function step(next: () => { toDate(): Date }): Date | undefined {
  try {
    return next().toDate();
  } catch (e) {
    if (e instanceof Error && /time span range|loop limit exceeded/i.test(e.message)) return undefined;
    throw e;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** The zone's UTC offset at `instant`, in minutes (Berlin in summer: 120). */
export function offsetMinutes(instant: Date, timezone: string): number {
  const parts: Record<string, number> = {};
  for (const p of wallClock(timezone).formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  const seconds = Math.floor(instant.getTime() / 1000) * 1000;
  return Math.round((wall - seconds) / 60_000);
}
