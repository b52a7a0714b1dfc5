/**
 * Which of a runbook's locations have S3 Object Lock, without opening
 * anything: the scheduler asks it to decide whether a runbook gets its daily
 * `maintain`, so it must stay free of the use cases it would otherwise import.
 */
import type { Runbook } from '../runbook/types.js';
import { copiesOf } from './copy-runbook.js';

/** The names of the copies that have Object Lock, in the runbook's order. */
export function lockedCopies(runbook: Runbook): string[] {
  return copiesOf(runbook)
    .filter((c) => c.objectLock !== undefined)
    .map((c) => c.name);
}

/** Whether any location of the runbook (hot, cold, a copy) has Object Lock. */
export function hasLockedLocation(runbook: Runbook): boolean {
  return runbook.repository.hot.objectLock !== undefined || runbook.repository.cold?.objectLock !== undefined || lockedCopies(runbook).length > 0;
}
