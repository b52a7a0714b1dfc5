/**
 * serve's scheduler claims each fire in the schedule state before running it
 * (ScheduleState.markHandled). On a shared PostgreSQL store that is one
 * statement on a pool of two connections whose waiters time out after a few
 * seconds; serve fires every runbook due at a minute together, and with 500
 * runbooks (the fleet bench, bench/fleet.ts) most claims timed out waiting for
 * a connection — each one a fire not claimed, so not run: a miss. Here the
 * claims wait their turn in this process instead, so none gives up for want
 * of a connection; a claim the store refuses still answers false as before.
 *
 * Batched where the state can (markHandledAll): the claims made in one turn of
 * the event loop — every timer due at an instant fires in the same turn — go
 * in one statement, one batch at a time, and the claims made meanwhile form
 * the next. 500 fires were 250 round trips two at a time; now they are one,
 * and the pool's other connection is left to the leader's lease renewals.
 * Else (the file state) `limit` single claims at a time, as before.
 */
import { batchedPerTurn, Semaphore, type ScheduleState } from '../core/index.js';

/** As many as the coordination pool has connections (src/core/store/postgres/coordination.ts). */
export const CLAIMS_AT_ONCE = 2;

/** Fires in one statement at most: a bound on its size (and on the parameters' arrays), far above a minute's burst of one serve. */
export const CLAIMS_PER_BATCH = 2_000;

type Fire = Parameters<NonNullable<ScheduleState['markHandledAll']>>[0][number];

export function pacedClaims(state: ScheduleState, limit = CLAIMS_AT_ONCE): ScheduleState {
  const batch = state.markHandledAll?.bind(state);
  if (batch) return batchedClaims(state, batch);
  // The backends' concurrency limit: waiters in arrival order, a freed slot handed straight to the next.
  const slots = new Semaphore(limit);
  return {
    lastHandled: (runbook, kind) => state.lastHandled(runbook, kind),
    markHandled: (runbook, kind, scheduledAt) => slots.run(() => state.markHandled(runbook, kind, scheduledAt)),
  };
}

function batchedClaims(state: ScheduleState, markAll: (fires: readonly Fire[]) => Promise<boolean[]>): ScheduleState {
  const claim = batchedPerTurn(async (fires: readonly Fire[]) => {
    const answers = await markAll(fires);
    return fires.map((_, i) => answers[i] === true);
  }, { max: CLAIMS_PER_BATCH });
  return {
    lastHandled: (runbook, kind) => state.lastHandled(runbook, kind),
    markHandled: (runbook, kind, scheduledAt) => claim({ runbook, kind, scheduledAt }),
    markHandledAll: (fires) => Promise.all(fires.map((f) => claim(f))),
  };
}
