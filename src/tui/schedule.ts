/** When a runbook's cron schedule fires next, for the dashboard. */
import { nextFire as nextCronFire } from '../core/index.js';

/** The next time `expr` fires after `now` in `timezone`, or undefined when there is no schedule or it does not parse. */
export function nextFire(expr: string | undefined, timezone: string | undefined, now: Date): Date | undefined {
  if (!expr) return undefined;
  try {
    return nextCronFire(expr, timezone, now);
  } catch {
    return undefined;
  }
}
