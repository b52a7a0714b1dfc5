/**
 * Runs that ended transfer-pending are complete once their staged objects are
 * confirmed by the destination (by `resume` or by the next backup's first
 * step): record that, so history and the alert rules see the truth.
 */
import type { Clock } from '../clock.js';
import type { EventSink } from '../events.js';
import { isStoreUnreachable } from '../store/spool/unreachable.js';
import type { Store } from '../store/store.js';

export async function completePendingRuns(store: Store, runbook: string, clock: Clock, exceptRun?: string): Promise<string[]> {
  const pending = (await store.listRuns({ runbook, limit: 50 })).filter((r) => r.status === 'transfer-pending' && r.id !== exceptRun);
  for (const run of pending) {
    const transfer = run.stages.find((s) => s.name === 'transfer');
    if (transfer) {
      transfer.status = 'succeeded';
      transfer.counters = { ...transfer.counters, completedLaterAt: clock.now().getTime() };
      delete transfer.error;
    }
    run.status = run.failedSources?.length ? 'partial' : 'succeeded';
    // The upload was what was missing; a run whose process died (runs/abandoned-runs.ts) keeps saying so.
    if (run.error?.code === 'TRANSFER_PENDING') delete run.error;
    await store.putRun(run);
  }
  return pending.map((r) => r.id);
}

/**
 * The same after an upload that already succeeded: with the state store
 * unreachable the data is safe all the same, so say so and go on (the runs
 * stay transfer-pending in the store until a run with the store up).
 */
export async function completePendingRunsIfStoreAnswers(store: Store, runbook: string, clock: Clock, report: { emit: EventSink; runId?: string }, exceptRun?: string): Promise<string[] | undefined> {
  try {
    return await completePendingRuns(store, runbook, clock, exceptRun);
  } catch (e) {
    if (!isStoreUnreachable(e)) throw e;
    report.emit({ type: 'log', level: 'warn', ...(report.runId ? { runId: report.runId } : {}), message: 'earlier transfer-pending runs not marked complete: state store unreachable (their data is uploaded; the next run with the store up marks them)' });
    return undefined;
  }
}
