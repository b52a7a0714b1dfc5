/**
 * One backup run of a runbook, recorded stage by stage. The snapshot stage
 * walks, chunks and stores into the repository (see repo/archiver.ts).
 */
import type { Clock } from '../clock.js';
import { LifeboatError, describeError, isLifeboatError } from '../errors.js';
import type { EventSink } from '../events.js';
import { backupPaths, type BackupOutcome } from '../repo/archiver.js';
import { openRunbookRepository } from '../repo/open-repository.js';
import { withRepositoryLock } from '../repo/repo-lock.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { Runbook } from '../runbook/types.js';
import type { Actor, RunRecord, RunStatus } from '../store/records.js';
import type { Store } from '../store/store.js';
import { progressThrottle } from './progress-throttle.js';
import { RunRecorder } from './run-recorder.js';

export interface BackupRunInput {
  runbook: Runbook;
  store: Store;
  clock: Clock;
  emit: EventSink;
  actor: Actor;
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  workers?: number;
}

export interface BackupRunResult {
  run: RunRecord;
  snapshot?: Snapshot;
  outcome?: BackupOutcome;
}

export async function runBackup(input: BackupRunInput): Promise<BackupRunResult> {
  const { runbook, clock, emit } = input;
  const recorder = new RunRecorder(input.store, clock, emit, { runbook: runbook.name, kind: 'backup', actor: input.actor });
  await recorder.start();
  await recorder.startStage('snapshot');
  const progress = progressThrottle(clock, 200, (p) => emit({ type: 'stage.progress', runId: recorder.id, stage: 'snapshot', progress: p }));
  try {
    const repo = await openRunbookRepository(runbook, { env: input.env });
    const parent = await latestSnapshotOf(repo, runbook.name);
    const pathSources = runbook.sources.flatMap((s) => (s.kind === 'path' ? [{ name: s.name, path: s.path, exclude: s.exclude }] : []));
    const streamSources = runbook.sources.filter((s) => s.kind === 'command');
    const outcome = await withRepositoryLock(repo.backend, { exclusive: false, purpose: `backup of ${runbook.name}` }, () => backupPaths({
      repo,
      runbook: runbook.name,
      sources: pathSources,
      parent,
      time: clock.now(),
      signal: input.signal,
      workers: input.workers,
      onProgress: (p) =>
        progress({
          files: p.files,
          bytes: p.bytes,
          bytesNew: p.bytesNew,
          totalFiles: p.walkDone ? p.filesFound : undefined,
          totalBytes: p.walkDone ? p.bytesFound : undefined,
        }),
    }));
    const failedSources = [
      ...outcome.failedSources,
      ...streamSources.map((s) => ({ name: s.name, error: { code: 'SOURCE_FAILED', message: `source ${s.name}: stream (command) sources are not supported by this version yet` } })),
    ];
    const counters = {
      files: outcome.progress.files,
      dirs: outcome.progress.dirs,
      bytesRead: outcome.progress.bytes,
      bytesNew: outcome.progress.bytesNew,
      bytesStored: outcome.progress.bytesStored,
      filesUnchanged: outcome.progress.filesUnchanged,
      fileErrors: outcome.fileErrors.length,
      warnings: outcome.warnings.length,
      orphanPacksReused: outcome.orphansRecovered.packs,
    };
    const partial = failedSources.length > 0 || outcome.fileErrors.length > 0;
    await recorder.finishStage('snapshot', partial ? 'partial' : 'succeeded', counters);
    recorder.record.snapshotId = outcome.snapshot.id;
    recorder.record.stats = { ...counters, ...outcome.snapshot.stats };
    if (failedSources.length > 0) recorder.record.failedSources = failedSources;
    const status: RunStatus = partial ? 'partial' : 'succeeded';
    const run = await recorder.finish(status);
    return { run, snapshot: outcome.snapshot, outcome };
  } catch (e) {
    const cancelled = isLifeboatError(e, 'CANCELLED');
    await recorder.finishStage('snapshot', 'failed', {}, e);
    const run = await recorder.finish(cancelled ? 'cancelled' : 'failed', e);
    if (e instanceof LifeboatError) throw e;
    throw new LifeboatError('INTERNAL', describeError(e).message, { cause: e });
  }
}

/** The parent for the unchanged-file fast path: the newest snapshot of this runbook. */
async function latestSnapshotOf(repo: Awaited<ReturnType<typeof openRunbookRepository>>, runbook: string): Promise<Snapshot | undefined> {
  const all = await repo.listSnapshots();
  return all.filter((s) => s.runbook === runbook).at(-1);
}
