/** `backup`: the pipeline (src/core/pipeline/backup-run.ts) as a recorded run, with the copy and tier stages handed in. */
import { LifeboatError, describeError } from '../errors.js';
import { runBackupPipeline } from '../pipeline/backup-run.js';
import type { BackupOutcome } from '../repo/archiver.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import type { AlertRecord, RunRecord } from '../store/records.js';
import { backupTierStage } from '../tier/tier-run.js';
import { backupCopiesStage } from '../copies/copies-stage.js';
import { policies } from './policies.js';
import { recordedRun, runOf } from './recorded-run.js';

export interface BackupInput extends RunContext {
  /** Worker threads for the snapshot stage (default: one per core). */
  workers?: number;
}

export interface BackupResult {
  run: RunRecord;
  snapshot?: Snapshot;
  outcome?: BackupOutcome;
  alerts: AlertRecord[];
}

/** Throws what ended the run early (after recording it and running the after hooks). */
export async function backup(input: BackupInput): Promise<BackupResult> {
  const done = await recordedRun(policies.backup, input, async (session) => {
    const result = await runBackupPipeline({ ...session.input, workers: input.workers }, session.recorder, {
      writeLock: policies.backup.lock,
      // The copies first: nothing leaves hot for the cold tier before every copy has it.
      tierStage: async (hot, recorder, status) => backupTierStage(hot, session.input, recorder, await backupCopiesStage(hot, session.input, recorder, status)),
    });
    return { value: result, status: result.status, error: result.failure };
  });
  const { failure, outcome } = done.value;
  if (failure !== undefined) {
    throw failure instanceof LifeboatError ? failure : new LifeboatError('INTERNAL', describeError(failure).message, { cause: failure });
  }
  return { run: runOf(done), snapshot: outcome?.snapshot, outcome, alerts: done.alerts };
}
