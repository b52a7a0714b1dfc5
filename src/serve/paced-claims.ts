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
import type { ScheduleState } from '../core/index.js';

/** As many as the coordination pool has connections (src/core/store/postgres/coordination.ts). */
export const CLAIMS_AT_ONCE = 2;

export function pacedClaims(state: ScheduleState, limit = CLAIMS_AT_ONCE): ScheduleState {
  let running = 0;
  const waiting: (() => void)[] = [];
  const turn = async (): Promise<void> => {
    if (running < limit) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const done = () => {
    const next = waiting.shift();
    // The slot passes straight to the next waiter; only when nobody waits is it freed.
    if (next) next();
    else running--;
  };
  return {
    lastHandled: (runbook, kind) => state.lastHandled(runbook, kind),
    async markHandled(runbook, kind, scheduledAt) {
      await turn();
      try {
        return await state.markHandled(runbook, kind, scheduledAt);
      } finally {
        done();
      }
    },
  };
}
