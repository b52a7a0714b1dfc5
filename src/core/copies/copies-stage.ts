/**
 * The copy stage of a backup run (handed to the pipeline by
 * src/core/use-cases/backup.ts, after verify and retention, before tier so
 * nothing leaves hot before the copies have it): fill every copy of the
 * runbook (fill-copy.ts), each on its own.
 *
 * A copy that fails (unreachable, 5xx after the retries, did not verify) is
 * that copy's failure only: the others are still filled, the data is safe in
 * hot, the run becomes partial, and its record says which copy failed and why
 * (RunRecord.copies), which raises `copy-failed:<runbook>:<copy>`
 * (src/core/alerts/rules/copy-failed.ts) until a later run fills it. That
 * later run copies everything the copy still lacks.
 */
import { describeError, isLifeboatError } from '../errors.js';
import { initRunbookRepository, isRepositoryMissing, openRunbookRepositoryStack, type OpenedRepository, type RepositoryAccess } from '../repo/open-repository.js';
import type { RunContext } from '../run-context.js';
import type { CopyLocation, Runbook } from '../runbook/types.js';
import type { RunRecorder } from '../runs/run-recorder.js';
import type { CopyRunRecord, RunStatus } from '../store/records.js';
import { copiesOf, findCopy, runbookForCopy } from './copy-runbook.js';
import { emptyFillOutcome, fillCopy, type FillCopyOutcome } from './fill-copy.js';

/** Stage counters: the sum over copies, and how many failed. */
function stageCounters(results: readonly { outcome: FillCopyOutcome; failed: boolean }[]): Record<string, number> {
  const sum = (pick: (o: FillCopyOutcome) => number) => results.reduce((n, r) => n + pick(r.outcome), 0);
  return {
    copies: results.length,
    copiesFailed: results.filter((r) => r.failed).length,
    snapshotsCopied: sum((o) => o.snapshotsCopied),
    blobsCopied: sum((o) => o.blobsCopied),
    blobsDeduplicated: sum((o) => o.blobsDeduplicated),
    bytesUploaded: sum((o) => o.bytesUploaded),
    packsWritten: sum((o) => o.packsWritten),
    packsReadBack: sum((o) => o.packsReadBack),
    orphanPacksReused: sum((o) => o.orphanPacksReused),
    forgotten: sum((o) => o.forgotten),
  };
}

/** Runs the copy stage when the runbook has copies; returns the run's status, partial when a copy failed. */
export async function backupCopiesStage(backupHot: OpenedRepository, input: RunContext, recorder: RunRecorder, status: RunStatus): Promise<RunStatus> {
  const copies = copiesOf(input.runbook).filter((c) => c.after === 'backup');
  if (copies.length === 0) return status;
  // The backup's view of hot is stale once retention pruned: copy from a fresh one (as tier does).
  await backupHot.staging?.flush(input.signal);
  return fillCopies(copies, input, recorder, status);
}

/**
 * `lifeboat copy`: the copy stage on its own, for every copy or the one
 * named, recorded as a run of kind `copy` (src/core/use-cases/copy.ts).
 * Failed when every copy failed, partial when some did.
 */
export async function recordCopyRun(input: RunContext, recorder: RunRecorder, only?: string): Promise<RunStatus> {
  const copies = only === undefined ? copiesOf(input.runbook) : [findCopy(input.runbook, only)];
  const status = await fillCopies(copies, input, recorder, 'succeeded');
  const failed = recorder.record.copies?.filter((c) => c.status === 'failed').length ?? 0;
  return failed > 0 && failed === copies.length ? 'failed' : status;
}

async function fillCopies(copies: readonly CopyLocation[], input: RunContext, recorder: RunRecorder, status: RunStatus): Promise<RunStatus> {
  await recorder.startStage('copy');
  const log = (level: 'info' | 'warn', message: string) => input.emit({ type: 'log', level, runId: recorder.id, message });
  const access = { env: input.env, home: input.home, emit: input.emit, runId: recorder.id };
  const hot = await openRunbookRepositoryStack(input.runbook, access);
  const hotNewest = newestTime(await hot.repo.listSnapshots(), input.runbook.name);
  const results: { outcome: FillCopyOutcome; failed: boolean }[] = [];
  const records: CopyRunRecord[] = [];
  for (const copy of copies) {
    const outcome = emptyFillOutcome();
    const record: CopyRunRecord = { name: copy.name, status: 'succeeded', snapshotsCopied: 0, ...(hotNewest ? { hotNewestTime: hotNewest } : {}) };
    try {
      const copyRunbook = runbookForCopy(input.runbook, copy);
      const opened = await openOrCreateCopy(copyRunbook, copy, access, log);
      await fillCopy({ copyRunbook, copyName: copy.name, hot, copy: opened, now: input.clock.now(), emit: input.emit, runId: recorder.id, signal: input.signal }, outcome);
      if (outcome.problems.length > 0) {
        record.status = 'failed';
        record.error = { code: 'REPO_CORRUPT', message: `copy ${copy.name} did not verify: ${outcome.problems.slice(0, 5).join('; ')}` };
      } else if (outcome.newest) {
        record.newestSnapshotId = outcome.newest.id;
        record.newestSnapshotTime = outcome.newest.time;
        if (outcome.storedBytes !== undefined) record.storedBytes = outcome.storedBytes;
      }
    } catch (e) {
      if (isLifeboatError(e, 'CANCELLED') || input.signal?.aborted) {
        await recorder.finishStage('copy', 'skipped', stageCounters(results), e);
        throw e;
      }
      record.status = 'failed';
      const info = describeError(e);
      record.error = { code: info.code, message: `copy ${copy.name} (${copy.url}): ${info.message}` };
    }
    record.snapshotsCopied = outcome.snapshotsCopied;
    if (record.status === 'failed') log('warn', `${record.error?.message ?? `copy ${copy.name} failed`}; the data is safe in hot, the next run catches up`);
    else log('info', `copy ${copy.name}: ${outcome.snapshotsCopied} snapshot(s) copied, ${outcome.blobsCopied} blob(s), ${outcome.packsReadBack} pack(s) read back`);
    results.push({ outcome, failed: record.status === 'failed' });
    records.push(record);
  }
  recorder.record.copies = records;
  const failed = records.filter((r) => r.status === 'failed');
  const error = failed.length === 0 ? undefined : { code: failed[0]!.error?.code ?? 'INTERNAL', message: failed.map((r) => r.error?.message ?? r.name).join('; ') };
  await recorder.finishStage('copy', failed.length === 0 ? 'succeeded' : failed.length === records.length ? 'failed' : 'partial', stageCounters(results), error);
  return failed.length > 0 && status === 'succeeded' ? 'partial' : status;
}

/**
 * The first fill creates the copy (its own master key, its bucket when
 * missing): a runbook that names a copy asks for one, as one naming a cold
 * repository does (src/core/tier/tier-run.ts).
 */
async function openOrCreateCopy(copyRunbook: Runbook, copy: CopyLocation, access: RepositoryAccess, log: (level: 'info', m: string) => void): Promise<OpenedRepository> {
  try {
    return await openRunbookRepositoryStack(copyRunbook, access);
  } catch (e) {
    if (!isRepositoryMissing(e)) throw e;
  }
  const created = await initRunbookRepository(copyRunbook, access);
  log('info', `copy ${copy.name}: created the repository ${created.config.id.slice(0, 8)} at ${created.backend.location}`);
  return openRunbookRepositoryStack(copyRunbook, access);
}

function newestTime(snapshots: readonly { runbook: string; time: string }[], runbook: string): string | undefined {
  let newest: string | undefined;
  for (const s of snapshots) if (s.runbook === runbook && (newest === undefined || s.time > newest)) newest = s.time;
  return newest;
}
