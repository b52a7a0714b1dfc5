/**
 * serve's scheduler claims each fire in the schedule state before running it
 * (ScheduleState.markHandled). On a shared PostgreSQL store that is one
 * statement on a pool of two connections whose waiters time out after a few
 * seconds; serve fires every runbook due at a minute together, and with 500
 * runbooks (the fleet bench, bench/fleet.ts) most claims timed out waiting for
 * a connection — each one a fire not claimed, so not run: a miss. Here the
 * claims wait their turn in this process instead, `limit` at a time, so none
 * gives up for want of a connection; a claim the store refuses still answers
 * false as before.
 */
import { Semaphore, type ScheduleState } from '../core/index.js';

/** As many as the coordination pool has connections (src/core/store/postgres/coordination.ts). */
export const CLAIMS_AT_ONCE = 2;

export function pacedClaims(state: ScheduleState, limit = CLAIMS_AT_ONCE): ScheduleState {
  // The backends' concurrency limit: waiters in arrival order, a freed slot handed straight to the next.
  const slots = new Semaphore(limit);
  return {
    lastHandled: (runbook, kind) => state.lastHandled(runbook, kind),
    markHandled: (runbook, kind, scheduledAt) => slots.run(() => state.markHandled(runbook, kind, scheduledAt)),
  };
}
