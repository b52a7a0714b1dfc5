/**
 * One backup run of a runbook: the pipeline of stages (README.md, "The house in a page"), recorded stage by
 * stage so an operator can always see what happened.
 *
 *   before hooks → discover + snapshot (pipelined: the walk feeds the
 *   workers) → transfer → verify → retention → tier → after hooks (always)
 *
 * The run lock, the run record's start and finish and the closing of abandoned
 * runs are the harness's (src/core/use-cases/recorded-run.ts); the tier stage
 * is handed in by the backup use case (src/core/use-cases/backup.ts), so the
 * pipeline does not reach into tier/.
 *
 * discover and snapshot overlap in time: discover ends when the walk has seen
 * everything (its counters are the manifest diff), snapshot when everything is
 * stored. One failing source makes the run partial; the others complete.
 */
import { checkChildEnvironments, childEnvironment, type ChildEnv } from '../child/child-env.js';
import { LifeboatError, describeError, isLifeboatError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { BackupOutcome } from '../repo/archiver.js';
import { backupPaths } from './snapshot-stage.js';
import { openRunbookRepositoryStack, type OpenedRepository } from '../repo/open-repository.js';
import type { Repository } from '../repo/repository.js';
import { learnRunbook, type Redactor } from '../redaction/index.js';
import type { RunContext } from '../run-context.js';
import { completePendingRunsIfStoreAnswers } from '../runs/complete-pending.js';
import { lockRepository, withRepositoryLock, type LockMode } from '../runs/repository-lock.js';
import type { RunRecorder } from '../runs/run-recorder.js';
import type { RunStatus } from '../store/records.js';
import { isStoreUnreachable } from '../store/spool/unreachable.js';
import { hooksError, runHooks } from './hooks.js';
import { progressThrottle } from './progress-throttle.js';
import { forgetAndPrune } from './retention-stage.js';
import { verifyRun } from './verify-stage.js';

/** A parent snapshot smaller than this: the next backup runs one repository worker (see snapshotStages). */
const ONE_WORKER_BELOW_BYTES = 4 * 1024 * 1024;

export interface BackupRunInput extends RunContext {
  secrets: Redactor;
  workers?: number;
}

/**
 * Stage 6, handed in by the use case: given the hot repository and the run's
 * status so far, run the tier stage (or skip it) and return the new status.
 */
export type TierStage = (hot: OpenedRepository, recorder: RunRecorder, status: RunStatus) => Promise<RunStatus>;

export interface BackupPipeline {
  /** The repository lock the snapshot stages hold while they write (src/core/use-cases/policies.ts). */
  writeLock: LockMode;
  tierStage: TierStage;
}

export interface BackupPipelineResult {
  status: RunStatus;
  /** What ended the run early, when something did (the after hooks still ran). */
  failure?: unknown;
  outcome?: BackupOutcome;
}

/** Runs the stages into `recorder` (already started by the harness) and says how the run ended; never throws once started. */
export async function runBackupPipeline(input: BackupRunInput, recorder: RunRecorder, pipeline: BackupPipeline): Promise<BackupPipelineResult> {
  const { runbook, emit, secrets } = input;
  const signal = input.signal;
  const hookCwd = runbook.file.replace(/\/[^/]*$/, '');
  let status: RunStatus;
  let failure: unknown;
  let outcome: BackupOutcome | undefined;
  try {
    // A runbook that would hand a child a password fails here, before its first hook.
    await checkChildEnvironments(runbook, input.env, secrets);
    if (runbook.hooks.before.length > 0) {
      await recorder.startStage('hooks');
      const env = await hookEnvironment(input);
      const before = await runHooks(runbook.hooks.before, { phase: 'before', env, secrets, cwd: hookCwd, runId: recorder.id, emit, signal });
      recorder.record.hookOutput = before.tail;
      const err = hooksError('before', before);
      await recorder.finishStage('hooks', err ? 'failed' : 'succeeded', { hooks: before.results.length }, err);
      if (err) throw err;
    }
    const opened = await openRunbookRepositoryStack(runbook, { env: input.env, home: input.home, emit, runId: recorder.id });
    // A key file created just now (`create: true`) is a secret from now on.
    await learnRunbook(secrets, runbook, input.env);
    const { repo } = opened;
    const leftovers = await uploadLeftovers(opened, recorder, emit, input);
    outcome = await snapshotStages(repo, input, recorder, { staged: opened.staging !== undefined, mode: pipeline.writeLock });
    status = outcome.failedSources.length > 0 || outcome.fileErrors.length > 0 ? 'partial' : 'succeeded';
    const transferred = await transferStage(opened, recorder, leftovers, input.signal);
    if (!transferred) {
      status = 'transfer-pending';
      await recorder.skipStage('verify');
      await recorder.skipStage('retention');
      if (input.runbook.repository.cold) await recorder.skipStage('tier');
    } else {
      const verifyOk = await verifyStage(repo, input, recorder);
      if (!verifyOk) status = 'failed';
      await retentionStage(repo, input, recorder);
      // Nothing leaves a hot repository that just failed verification.
      if (verifyOk) status = await pipeline.tierStage(opened, recorder, status);
      else if (input.runbook.repository.cold) await recorder.skipStage('tier');
      // After retention and tiering, the two stages that take snapshots out of hot.
      await countSnapshots(repo, input, recorder);
    }
  } catch (e) {
    failure = e;
    status = isLifeboatError(e, 'CANCELLED') ? 'cancelled' : 'failed';
    await recorder.closeRunningStages(status === 'cancelled', e);
  }
  // After hooks run whatever happened, like `finally`, and see the outcome.
  // A `hooks.env` value that cannot be read skips the after hooks with a warning, like a failing one.
  const afterEnv =
    runbook.hooks.after.length === 0
      ? undefined
      : await hookEnvironment(input).catch((e: unknown) => {
          emit({ type: 'log', level: 'warn', runId: recorder.id, message: `after hooks not run: ${describeError(e).message}` });
          return undefined;
        });
  if (afterEnv) {
    const after = await runHooks(runbook.hooks.after, {
      phase: 'after',
      env: afterEnv,
      secrets,
      extraEnv: {
        LIFEBOAT_RUN_STATUS: status,
        LIFEBOAT_RUNBOOK: runbook.name,
        LIFEBOAT_RUN_ID: recorder.id,
        ...(outcome ? { LIFEBOAT_SNAPSHOT_ID: outcome.snapshot.id } : {}),
        ...(failure !== undefined ? { LIFEBOAT_RUN_ERROR: describeError(failure).message } : {}),
      },
      cwd: hookCwd,
      runId: recorder.id,
      emit,
    });
    recorder.record.hookOutput = [...(recorder.record.hookOutput ?? []), ...after.tail].slice(-40);
    if (!after.ok) emit({ type: 'log', level: 'warn', runId: recorder.id, message: hooksError('after', after)?.message ?? 'an after hook failed' });
  }
  return { status, ...(failure === undefined ? {} : { failure }), ...(outcome ? { outcome } : {}) };
}

/** A remote that cannot be reached is written through staging unlocked (see withRepositoryLock): nothing to compare there. */
function unlessUnreachable(e: unknown): false {
  if (isLifeboatError(e) && e.retryable) return false;
  throw e;
}

/** Hooks get the child policy's environment with the runbook's `hooks.env` (read again per phase: a file may change). */
function hookEnvironment(input: BackupRunInput): Promise<ChildEnv> {
  return childEnvironment({ parent: input.env, optIn: input.runbook.hooks.env, secrets: input.secrets, where: 'hooks.env' });
}

async function snapshotStages(repo: Repository, input: BackupRunInput, recorder: RunRecorder, lock: { staged: boolean; mode: LockMode }): Promise<BackupOutcome> {
  const { runbook, clock, emit } = input;
  await recorder.startStage('discover');
  await recorder.startStage('snapshot');
  const progress = progressThrottle(clock, 200, (p) => emit({ type: 'stage.progress', runId: recorder.id, stage: 'snapshot', progress: p }));
  let discoverDone: Promise<void> | undefined;
  const parent = (await repo.listSnapshots()).filter((s) => s.runbook === runbook.name).at(-1);
  const warn = (message: string) => emit({ type: 'log', level: 'warn', runId: recorder.id, message });
  const writing = { mode: lock.mode, purpose: `backup of ${runbook.name}`, unlockedIfUnreachable: { staged: lock.staged, warn } };
  const outcome = await withRepositoryLock(repo.backend, writing, async () => {
    // The index was read before this lock: a prune that ran in between replaced it.
    if (await repo.reloadIndexIfReplaced().catch(unlessUnreachable)) warn('the index changed (a prune ran) since it was read: read again before deduplicating');
    return backupPaths({
      repo,
      runbook: runbook.name,
      sources: runbook.sources.flatMap((s) => (s.kind === 'path' ? [{ name: s.name, path: s.path, exclude: s.exclude }] : [])),
      streams: runbook.sources.flatMap((s) => (s.kind === 'command' ? [s] : [])),
      // Lifeboat's environment, from which backupStream takes only what the child policy allows.
      streamEnv: input.env,
      streamCwd: runbook.file.replace(/\/[^/]*$/, ''),
      parent,
      time: clock.now(),
      signal: input.signal,
      // A source that was tiny last time gets one worker, not one per core: starting a worker thread costs ~40 ms of CPU, more
      // than such a backup's chunking, and a fleet agent runs hundreds of them (docs/fleet-scale.md). Grown since: one backup at one worker.
      workers: input.workers ?? (parent !== undefined && parent.stats.bytes < ONE_WORKER_BELOW_BYTES ? 1 : undefined),
      onProgress: (p) => {
        if (p.walkDone && !discoverDone) {
          discoverDone = recorder.finishStage('discover', 'succeeded', { files: p.filesFound, bytes: p.bytesFound, ...p.diff });
        }
        progress({
          files: p.files,
          bytes: p.bytes,
          bytesNew: p.bytesNew,
          totalFiles: p.walkDone ? p.filesFound : undefined,
          totalBytes: p.walkDone ? p.bytesFound : undefined,
        });
      },
    });
  });
  await discoverDone;
  const prev = parent?.stats;
  const diff = outcome.progress.diff;
  // An empty or sharply shrunken manifest is an anomaly, not a success: say so loudly.
  const shrunk = prev !== undefined && prev.files > 0 && outcome.progress.filesFound < prev.files / 2;
  if (outcome.progress.filesFound === 0 || shrunk) {
    emit({
      type: 'log',
      level: 'warn',
      runId: recorder.id,
      message: `${runbook.name}: the sources hold ${outcome.progress.filesFound} files${prev ? `, the previous snapshot had ${prev.files}` : ''}; check that they are mounted and complete`,
    });
  }
  if (!discoverDone) await recorder.finishStage('discover', 'succeeded', { files: outcome.progress.filesFound, bytes: outcome.progress.bytesFound, ...diff });
  recorder.record.diff = { ...diff, files: outcome.progress.filesFound, bytes: outcome.progress.bytesFound, empty: outcome.progress.filesFound === 0 ? 1 : 0, shrunk: shrunk ? 1 : 0 };
  const partial = outcome.failedSources.length > 0 || outcome.fileErrors.length > 0;
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
  await recorder.finishStage('snapshot', partial ? 'partial' : 'succeeded', counters, partial ? new LifeboatError('SOURCE_FAILED', failureSummary(outcome)) : undefined);
  recorder.record.snapshotId = outcome.snapshot.id;
  recorder.record.stats = { ...counters, ...outcome.snapshot.stats };
  if (outcome.failedSources.length > 0) recorder.record.failedSources = outcome.failedSources;
  return outcome;
}

function failureSummary(outcome: BackupOutcome): string {
  const parts = outcome.failedSources.map((f) => f.error.message);
  if (outcome.fileErrors.length > 0) parts.push(`${outcome.fileErrors.length} file(s) unreadable, e.g. ${outcome.fileErrors[0]!.path}: ${outcome.fileErrors[0]!.message}`);
  return parts.join('; ');
}

/**
 * Objects a previous run left in staging go first: the repository must hold
 * the older snapshot before a newer one that may reuse its data.
 */
async function uploadLeftovers(opened: OpenedRepository, recorder: RunRecorder, emit: EventSink, input: BackupRunInput): Promise<number> {
  if (!opened.staging) return 0;
  const left = await opened.staging.adoptLeftovers();
  if (left.objects === 0) return 0;
  emit({ type: 'log', level: 'info', runId: recorder.id, message: `uploading ${left.objects} object(s) left in staging by an earlier run` });
  try {
    await opened.staging.flush();
    await completePendingRunsIfStoreAnswers(input.store, input.runbook.name, input.clock, { emit, runId: recorder.id }, recorder.id);
  } catch (e) {
    if (!isLifeboatError(e, 'TRANSFER_PENDING')) throw e;
    // Still down: this run stages too, and the transfer stage reports it.
  }
  return left.objects;
}

/**
 * Local repositories are written directly during the snapshot stage. Remote
 * ones are staged: wait until the destination confirmed every object, or end
 * transfer-pending with staging kept (returns false).
 */
async function transferStage(opened: OpenedRepository, recorder: RunRecorder, leftovers: number, signal?: AbortSignal): Promise<boolean> {
  const { repo, staging, retry } = opened;
  const written = { packs: repo.written.length, bytes: repo.written.reduce((n, p) => n + p.size, 0) };
  if (!staging) {
    // Nothing to wait for: one record write, not two (RunRecorder.instantStage).
    await recorder.instantStage('transfer', 'succeeded', { ...written, direct: 1 });
    return true;
  }
  await recorder.startStage('transfer');
  let pendingError: unknown;
  try {
    await staging.flush(signal);
  } catch (e) {
    if (!isLifeboatError(e, 'TRANSFER_PENDING')) throw e;
    pendingError = e;
  }
  const stats = retry?.retryStats();
  const counters = {
    ...written,
    uploadedObjects: staging.uploadedObjects,
    uploadedBytes: staging.uploadedBytes,
    pendingObjects: staging.pending.objects,
    pendingBytes: staging.pending.bytes,
    // The bound and the most staging held under it (transfer.stagingLimit), for sizing the staging disk.
    stagingLimitBytes: staging.maxStagedBytes,
    stagedPeakBytes: staging.stagedPeak,
    leftoversAdopted: leftovers,
    retries: stats?.retries ?? 0,
    retriesSave: stats?.byOperation.save ?? 0,
    retriesLoad: stats?.byOperation.load ?? 0,
  };
  await recorder.finishStage('transfer', pendingError ? 'failed' : 'succeeded', counters, pendingError);
  recorder.record.stats = { ...recorder.record.stats, retries: counters.retries };
  if (pendingError) recorder.record.error = describeError(pendingError);
  return pendingError === undefined;
}

async function verifyStage(repo: Repository, input: BackupRunInput, recorder: RunRecorder): Promise<boolean> {
  await recorder.startStage('verify');
  const result = await verifyRun(repo, { readDataFraction: input.runbook.verify.readDataFraction, runNumber: await nextSlice(input, recorder), signal: input.signal });
  const counters = {
    packsWritten: result.packsWritten,
    packsRead: result.packsRead,
    bytesRead: result.bytesRead,
    samplePacksRead: result.samplePacksRead,
    sampleBytesRead: result.sampleBytesRead,
    slice: result.slice,
    slices: result.slices,
    problems: result.problems.length,
  };
  const ok = result.problems.length === 0;
  // The repository's size as the index knows it, for dashboards (no extra listing).
  let repositoryBytes = 0;
  for (const { size } of repo.index.packs.values()) repositoryBytes += size;
  recorder.record.stats = { ...recorder.record.stats, repositoryBytes };
  await recorder.finishStage('verify', ok ? 'succeeded' : 'failed', counters, ok ? undefined : new LifeboatError('REPO_CORRUPT', result.problems.slice(0, 5).join('; ')));
  return ok;
}

/**
 * The slice after the one the previous verifying run read. Counting runs would
 * stop rotating once the store's history limit caps the count.
 */
async function nextSlice(input: BackupRunInput, recorder: RunRecorder): Promise<number> {
  let runs;
  try {
    runs = await input.store.listRuns({ runbook: input.runbook.name, limit: 50 });
  } catch (e) {
    // A store outage must not fail the backup (store/spool/): the first slice is as good a sample as any.
    if (!isStoreUnreachable(e)) throw e;
    return 0;
  }
  for (const run of runs) {
    if (run.id === recorder.id || run.kind !== 'backup') continue;
    const verify = run.stages.find((s) => s.name === 'verify' && s.counters.slices !== undefined);
    if (verify) return (verify.counters.slice ?? 0) + 1;
  }
  return 0;
}

/**
 * The runbook's snapshots in the hot repository once retention and tiering
 * are done (stats.snapshots), so /metrics can report them from the store without
 * opening the repository per scrape. Their files were loaded to find the
 * parent, so this costs one listing. A count for a dashboard never fails a
 * backup whose data is stored: when the listing fails it is left out.
 */
async function countSnapshots(repo: Repository, input: BackupRunInput, recorder: RunRecorder): Promise<void> {
  try {
    const snapshots = (await repo.listSnapshots()).filter((s) => s.runbook === input.runbook.name).length;
    recorder.record.stats = { ...recorder.record.stats, snapshots };
  } catch (e) {
    input.emit({ type: 'log', level: 'warn', runId: recorder.id, message: `snapshot count not recorded (for /metrics): ${describeError(e).message}` });
  }
}

async function retentionStage(repo: Repository, input: BackupRunInput, recorder: RunRecorder): Promise<void> {
  const policy = input.runbook.retention;
  if (!policy || Object.keys(policy).length === 0) {
    await recorder.skipStage('retention');
    return;
  }
  await recorder.startStage('retention');
  let lock;
  try {
    lock = await lockRepository(repo.backend, { mode: 'exclusive', purpose: `retention of ${input.runbook.name}` });
  } catch (e) {
    if (!isLifeboatError(e, 'REPO_LOCKED')) throw e;
    // Another backup is writing into this repository: forgetting and pruning wait for the next run.
    await recorder.finishStage('retention', 'skipped', {}, e);
    return;
  }
  try {
    const out = await forgetAndPrune(repo, input.runbook, { now: input.clock.now(), signal: input.signal });
    await recorder.finishStage('retention', 'succeeded', {
      kept: out.plan.keep.length,
      forgotten: out.forgotten,
      packsDeleted: out.prune?.packsDeleted ?? 0,
      packsRepacked: out.prune?.packsRepacked ?? 0,
      bytesFreed: out.prune?.bytesFreed ?? 0,
    });
  } finally {
    await lock.release();
  }
}
