/**
 * A run whose process died (kill -9, OOM, a reboot) stays `running` in the
 * store: invisible to the alert rules, and in progress forever to an operator.
 * Every recorded run and every holder of a runbook's run lock closes the
 * runbook's abandoned runs first (src/core/use-cases/recorded-run.ts), so the
 * record says how the dead run really ended:
 *
 * - it wrote its snapshot into the repository (its transfer stage succeeded):
 *   `partial`, since the backup is there and restorable, but the stages after
 *   it (verify, retention, tier) never finished;
 * - it staged its snapshot but had not uploaded it: `transfer-pending`, the
 *   data is safe in staging and `lifeboat resume` (or the next backup)
 *   uploads it and completes the run (complete-pending.ts), which keeps the
 *   error that says the process died;
 * - it died before its snapshot was written: `failed`.
 *
 * Only runs of this host can be judged (their pid is checked); a run recorded
 * by another host is left alone.
 */
import { hostname } from 'node:os';
import { commandHint } from '../command-hint.js';
import { processAlive } from '../process-info.js';
import type { ErrorInfo, RunRecord, RunStatus } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { RunLockInfo } from './run-lock.js';

/** How many of a runbook's newest runs are looked at: more than can be running at once. */
const RECENT_RUNS = 50;

export async function closeAbandonedRuns(
  store: Store,
  runbook: string,
  found: { byRun: string; tookOverFrom?: RunLockInfo; /** This host's name as runs record it (RunRecorder's host); default os.hostname(). */ here?: string },
): Promise<RunRecord[]> {
  const here = found.here ?? hostname();
  const runs = await store.listRuns({ runbook, limit: RECENT_RUNS });
  const dead = runs.filter(
    (r) => r.status === 'running' && r.id !== found.byRun && (r.id === found.tookOverFrom?.runId || (r.host === here && !processAlive(r.pid))),
  );
  for (const run of dead) {
    close(run, found.byRun);
    await store.putRun(run);
  }
  return dead;
}

/**
 * When the run was last seen alive: its latest stage boundary. Not the time it
 * was found (maybe days later), which would make a dead run's snapshot look
 * fresher than it is to the RPO.
 */
function lastSeen(run: RunRecord): string {
  const times = [run.startedAt, ...run.stages.flatMap((s) => [s.startedAt, s.endedAt])].filter((t): t is string => t !== undefined);
  return times.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
}

function close(run: RunRecord, byRun: string): void {
  const who = `process ${run.pid} on ${run.host}`;
  const snapshot = run.snapshotId?.slice(0, 8);
  let status: RunStatus;
  let error: ErrorInfo;
  /** What the stages that were running when it died are closed with. */
  let stageError: ErrorInfo;
  if (snapshot === undefined) {
    status = 'failed';
    error = stageError = { code: 'INTERNAL', message: `${who} died during the run (found by run ${byRun})` };
  } else if (run.stages.find((s) => s.name === 'transfer')?.status === 'succeeded') {
    status = 'partial';
    error = stageError = { code: 'INTERNAL', message: `${who} died after snapshot ${snapshot} was written to the repository (found by run ${byRun}); the stages after it did not finish` };
  } else {
    status = 'transfer-pending';
    error = { code: 'INTERNAL', message: `${who} died after snapshot ${snapshot} was staged (found by run ${byRun}); ${commandHint('resume', run.runbook)} or the next backup uploads it` };
    // The transfer stage says what is left to do, as a run that ended transfer-pending by itself does.
    stageError = { code: 'TRANSFER_PENDING', message: error.message };
  }
  const endedAt = lastSeen(run);
  for (const stage of run.stages) if (stage.status === 'running') Object.assign(stage, { status: 'failed', endedAt, error: stageError });
  Object.assign(run, { status, endedAt, error });
}
