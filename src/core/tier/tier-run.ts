/**
 * `lifeboat tier`'s one `tier` stage, and the tier stage of a backup run. Both
 * call tierSnapshots (tier-snapshots.ts); this file only opens the
 * repositories and records the stage. The run lock (a tier never overlaps a
 * backup of the same runbook) and the run record are the harness's
 * (src/core/use-cases/recorded-run.ts, declared in policies.ts).
 */
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { RunRecorder } from '../runs/run-recorder.js';
import { initRunbookRepository, isRepositoryMissing, openRunbookRepositoryStack, type OpenedRepository } from '../repo/open-repository.js';
import type { Repository } from '../repo/repository.js';
import type { RunContext } from '../run-context.js';
import type { Runbook } from '../runbook/types.js';
import type { RunStatus, StageStatus } from '../store/records.js';
import { emptyTierOutcome, planTier, tierCounters, tierSnapshots, type TierOutcome } from './tier-snapshots.js';

export interface TierStageResult {
  status: RunStatus;
  error?: unknown;
  outcome: TierOutcome;
}

/** Refuse, before anything is opened or recorded, a runbook that has nowhere to tier to. */
export function assertHasCold(runbook: Runbook): void {
  if (!runbook.repository.cold) {
    throw new LifeboatError('USAGE', `runbook ${runbook.name} (${runbook.file}) has no cold repository: add repository.cold { url, storageClass, after } to tier old snapshots`);
  }
}

/** The stage status and the error to record for a tier outcome. */
export function tierStatusOf(outcome: TierOutcome): { stage: StageStatus; run: RunStatus; error?: LifeboatError } {
  if (outcome.pending) return { stage: 'failed', run: 'transfer-pending', error: outcome.pending };
  if (outcome.problems.length > 0) {
    return { stage: 'failed', run: 'failed', error: new LifeboatError('REPO_CORRUPT', `the cold copy did not verify, nothing was forgotten in hot: ${outcome.problems.slice(0, 5).join('; ')}`) };
  }
  return { stage: 'succeeded', run: 'succeeded' };
}

/**
 * Open hot and cold. The first tier creates the cold repository (same
 * password, its own master key): `init` makes the hot one, and a runbook that
 * names a cold location asks for one.
 */
async function openBoth(input: RunContext, runId?: string): Promise<{ hot: OpenedRepository; cold: OpenedRepository }> {
  const access = { env: input.env, home: input.home, emit: input.emit, runId };
  const hot = await openRunbookRepositoryStack(input.runbook, access);
  return { hot, cold: await openOrCreateCold(input, runId) };
}

async function openOrCreateCold(input: RunContext, runId?: string): Promise<OpenedRepository> {
  const access = { env: input.env, home: input.home, emit: input.emit, runId, tier: 'cold' as const };
  try {
    return await openRunbookRepositoryStack(input.runbook, access);
  } catch (e) {
    // A runbook made before `init` created the cold one too: create it (and its bucket) here.
    if (!isRepositoryMissing(e)) throw e;
  }
  const created = await initRunbookRepository(input.runbook, access);
  input.emit({ type: 'log', level: 'info', runId, message: `tier: created the cold repository ${created.config.id.slice(0, 8)} at ${created.backend.location}` });
  return openRunbookRepositoryStack(input.runbook, access);
}

/** A dry run reads only: it neither creates the cold repository nor stages anything. */
export async function planTierRun(input: RunContext): Promise<TierOutcome> {
  const access = { env: input.env, home: input.home, emit: input.emit };
  const hot = await openRunbookRepositoryStack(input.runbook, access);
  let cold: Repository | undefined;
  try {
    cold = (await openRunbookRepositoryStack(input.runbook, { ...access, tier: 'cold' })).repo;
  } catch (e) {
    if (!isLifeboatError(e, 'REPO_NOT_FOUND')) throw e;
  }
  const { selection, copies } = await planTier(hot.repo, cold, input.runbook, input.clock.now());
  const out = emptyTierOutcome();
  out.candidates = selection.move.map((s) => ({ id: s.id, time: s.time, alreadyCold: copies.has(s.id) }));
  out.keptAsNewest = selection.keptAsNewest.map((s) => s.id);
  return out;
}

/** `lifeboat tier`: its one stage, recorded into the run the harness started. */
export async function recordTierStage(input: RunContext, recorder: RunRecorder): Promise<TierStageResult> {
  const { runbook, clock, emit } = input;
  let outcome = emptyTierOutcome();
  await recorder.startStage('tier');
  try {
    const opened = await openBoth(input, recorder.id);
    outcome = await tierSnapshots({ runbook, clock, emit, signal: input.signal, runId: recorder.id, ...opened });
  } catch (e) {
    const status: RunStatus = isLifeboatError(e, 'CANCELLED') ? 'cancelled' : isLifeboatError(e, 'TRANSFER_PENDING') ? 'transfer-pending' : 'failed';
    await recorder.finishStage('tier', status === 'cancelled' ? 'skipped' : 'failed', tierCounters(outcome), e);
    return { status, error: e, outcome };
  }
  const { stage, run: status, error } = tierStatusOf(outcome);
  await recorder.finishStage('tier', stage, tierCounters(outcome), error);
  recorder.record.stats = tierCounters(outcome);
  return { status, ...(error ? { error } : {}), outcome };
}

/**
 * Stage 6 of a backup run (handed to the pipeline by src/core/use-cases/backup.ts):
 * the backup already holds the run lock and the open hot repository; open (or
 * create) cold and tier. A tier that fails leaves hot whole, so the backup
 * itself still counts: the run becomes partial, not failed.
 */
export async function backupTierStage(backupHot: OpenedRepository, input: RunContext, recorder: RunRecorder, status: RunStatus): Promise<RunStatus> {
  // A runbook without a cold tier has no tier stage to show; one with `schedule.tier` shows it skipped.
  if (!backupTiers(input.runbook)) {
    if (input.runbook.repository.cold) await recorder.skipStage('tier');
    return status;
  }
  await recorder.startStage('tier');
  const degraded: RunStatus = status === 'succeeded' ? 'partial' : status;
  try {
    const outcome = await tierAfterBackup(backupHot, input, recorder.id);
    const result = tierStatusOf(outcome);
    await recorder.finishStage('tier', result.stage, tierCounters(outcome), result.error);
    return result.stage === 'succeeded' ? status : degraded;
  } catch (e) {
    if (isLifeboatError(e, 'CANCELLED')) throw e;
    await recorder.finishStage('tier', 'failed', {}, e);
    return degraded;
  }
}

async function tierAfterBackup(backupHot: OpenedRepository, input: RunContext, runId: string): Promise<TierOutcome> {
  // The backup's view of hot is stale once retention pruned (its index still lists
  // deleted packs and misses prune's new index file): tier on a fresh one.
  await backupHot.staging?.flush(input.signal);
  const hot = await openRunbookRepositoryStack(input.runbook, { env: input.env, home: input.home, emit: input.emit, runId });
  const cold = await openOrCreateCold(input, runId);
  return tierSnapshots({ runbook: input.runbook, clock: input.clock, emit: input.emit, signal: input.signal, runId, hot, cold });
}

/**
 * Whether a backup run tiers by itself: only when the runbook has a cold
 * repository and no `schedule.tier` (with one, the scheduler runs
 * `lifeboat tier` at that time and backups stay as fast as they were).
 */
function backupTiers(runbook: Runbook): boolean {
  return runbook.repository.cold !== undefined && runbook.schedule?.tier === undefined;
}
