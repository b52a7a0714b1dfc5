/**
 * A restore from the cold tier, before the restorer runs: plan which packs it
 * reads, thaw them, and say how long that took; or, for `--estimate`, only
 * look (HeadObject) and forecast the thaw, transfer, RTO and cost.
 *
 * Folder listings (tree blobs) live in packs of their own, which a cold
 * repository keeps in STANDARD (SaveOptions.metadataPack): the plan is made
 * at once, only the content packs it names are thawed, and the forecast is
 * exact. A tree pack can still be archived: one staged before a crash and
 * re-uploaded without its flag, or a repository written before tree packs were
 * kept readable. Then the plan cannot be made before it is thawed: the restore
 * thaws the archived tree packs first (a walk may need any of them; readable
 * ones cost no request) and plans after, which costs a second thaw round, and
 * the forecast counts every pack of the repository (an upper bound, said so in
 * its plan line) and two thaw rounds.
 */
import { archiveStateOf, type Backend } from '../backends/backend.js';
import type { Clock } from '../clock.js';
import { isLifeboatError } from '../errors.js';
import { formatBytes, formatDuration, formatRate } from '../format.js';
import { mapLimit, type Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import { estimateColdRestore, type ColdRestoreEstimate } from './estimate.js';
import { planSnapshot, type SnapshotPlan } from '../repo/snapshot-plan.js';
import { allPacksOf, packsToRead, planRestore, treePacksOf, type PlannedPack, type RestorePlan } from './restore-plan.js';
import { thawPacks, type ThawOutcome, type ThawProgress } from './thaw.js';
import type { ThawSettings } from './thaw-settings.js';

export interface ColdRestoreInput {
  repo: Repository;
  /** The backend the restore reads through (the repository's stack). */
  backend: Backend;
  snapshot: Snapshot;
  subPath?: string;
  settings: ThawSettings;
}

export interface ThawForRestoreInput extends ColdRestoreInput {
  signal?: AbortSignal;
  clock?: Pick<Clock, 'monotonicMs'>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** `trees`: the folder-listing packs (only when archived); `data`: the packs the restore reads. */
  onProgress?: (round: 'trees' | 'data', p: ThawProgress) => void;
}

export interface ThawForRestoreResult {
  plan: RestorePlan;
  /** The walk the plan came from: hand it to restoreSnapshot (src/core/repo/restorer.ts) so the trees are walked once. */
  snapshotPlan: SnapshotPlan;
  /** Set when the tree packs had to be thawed before planning. */
  trees?: ThawOutcome;
  data: ThawOutcome;
}

/** Plans the restore and thaws what it reads; on return every needed pack is readable. */
export async function thawForRestore(input: ThawForRestoreInput): Promise<ThawForRestoreResult> {
  const thaw = (round: 'trees' | 'data', packs: readonly PlannedPack[], deadlineMs: number) =>
    thawPacks({
      backend: input.backend,
      packs: packs.map((p) => p.pack),
      request: input.settings.request,
      deadlineMs,
      poll: input.settings.poll,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      ...(input.clock === undefined ? {} : { clock: input.clock }),
      ...(input.sleep === undefined ? {} : { sleep: input.sleep }),
      onProgress: (p) => input.onProgress?.(round, p),
    });
  const walk = () => planSnapshot(input.repo, input.snapshot, { subPath: input.subPath, signal: input.signal });
  let trees: ThawOutcome | undefined;
  let snapshotPlan: SnapshotPlan;
  try {
    snapshotPlan = await walk();
  } catch (e) {
    if (!isLifeboatError(e, 'OBJECT_ARCHIVED')) throw e;
    trees = await thaw('trees', treePacksOf(input.repo), input.settings.deadlineMs);
    snapshotPlan = await walk();
  }
  const plan = packsToRead(input.repo, snapshotPlan);
  // One deadline for the whole restore: the second round gets what the first left.
  const data = await thaw('data', plan.packs, Math.max(1, input.settings.deadlineMs - (trees?.elapsedMs ?? 0)));
  return { plan, snapshotPlan, ...(trees === undefined ? {} : { trees }), data };
}

/** One line for people: "thaw: 3/10 pack(s) ready (2 requested), 12m elapsed, next poll in 4m". */
export function describeThawProgress(round: 'trees' | 'data', p: ThawProgress): string {
  const what = round === 'trees' ? 'folder-listing pack(s)' : 'pack(s)';
  const next = p.nextPollMs === undefined ? 'all readable' : `next poll in ${formatDuration(p.nextPollMs)}`;
  return `thaw: ${p.ready}/${p.total} ${what} ready (${p.requested} requested by this run), ${formatDuration(p.elapsedMs)} elapsed, ${next}`;
}

/** "thaw: 12 pack(s): 10 requested, 1 already thawing, 1 already thawed, 0 readable at once; waited 4h02m" (both rounds together). */
export function describeThawOutcome(thaw: ThawForRestoreResult): string {
  const rounds = thaw.trees === undefined ? [thaw.data] : [thaw.trees, thaw.data];
  const sum = (k: 'total' | 'requested' | 'inProgress' | 'alreadyThawed' | 'readable' | 'elapsedMs') => rounds.reduce((n, r) => n + r[k], 0);
  return `thaw: ${sum('total')} pack(s): ${sum('requested')} requested, ${sum('inProgress')} already thawing, ${sum('alreadyThawed')} already thawed, ${sum('readable')} readable at once; waited ${formatDuration(sum('elapsedMs'))}`;
}

export interface ColdRestoreForecast {
  /** Undefined when the folder listings are archived (the packs are then every pack of the repository). */
  plan?: RestorePlan;
  packs: number;
  /** Bytes of the packs counted (what a thaw brings back and the transfer reads, at most). */
  bytes: number;
  archived: number;
  thawing: number;
  thawed: number;
  readable: number;
  /** A tree pack is archived: planning needs a thaw round of its own, and `packs` is an upper bound (every pack). Otherwise the count is exact. */
  treesArchived: boolean;
  thawMs: number;
  transferMs: number;
  totalMs: number;
  costUsd: number;
  /** The estimate for the archived part (thaw, cost, notes). */
  thawEstimate: ColdRestoreEstimate;
  throughputBytesPerSec: number;
  throughputBasis: 'measured' | 'assumed';
  /** Human lines: plan, thaw, transfer, total, cost, then the notes. */
  lines: string[];
}

/** What a cold restore would take and cost. Reads trees and HeadObject answers only: no thaw request, no write. */
export async function forecastColdRestore(input: ColdRestoreInput & { throughputBytesPerSec?: number; targetMs?: number }): Promise<ColdRestoreForecast> {
  let plan: RestorePlan | undefined;
  let packs: PlannedPack[];
  let treesArchived = false;
  try {
    plan = await planRestore(input.repo, input.snapshot, input.subPath);
    packs = plan.packs;
  } catch (e) {
    if (!isLifeboatError(e, 'OBJECT_ARCHIVED')) throw e;
    treesArchived = true;
    packs = allPacksOf(input.repo);
  }
  const counts = { archived: 0, thawing: 0, thawed: 0, readable: 0 };
  let archivedBytes = 0;
  await mapLimit(packs, 16, async (p) => {
    const { state } = await archiveStateOf(input.backend, { kind: 'data', name: p.pack });
    counts[state]++;
    // A pack already thawing was requested (and billed) before: only the archived ones cost anything now.
    if (state === 'archived') archivedBytes += p.packBytes;
  });
  const bytes = packs.reduce((n, p) => n + p.packBytes, 0);
  const { storageClass, request } = input.settings;
  const toThaw = counts.archived + counts.thawing;
  const base = { storageClass, retrieval: request.tier, ...(input.throughputBytesPerSec === undefined ? {} : { throughputBytesPerSec: input.throughputBytesPerSec }) };
  const thawEstimate = estimateColdRestore({ ...base, bytes: archivedBytes, objects: counts.archived });
  const transfer = estimateColdRestore({ ...base, bytes, objects: packs.length });
  const rounds = treesArchived ? 2 : 1;
  const thawMs = toThaw > 0 ? thawEstimate.thawMs * rounds : 0;
  const totalMs = thawMs + transfer.transferMs;
  const lines = [
    plan
      ? `plan: ${packs.length} pack(s), ${formatBytes(bytes)} for ${plan.files} file(s), ${formatBytes(plan.fileBytes)} (exact: the folder listings are readable)`
      : `plan: ${packs.length} pack(s), ${formatBytes(bytes)} (an upper bound, every pack of the repository: folder listings are archived, so the exact set is not known before a thaw)`,
    `packs: ${counts.archived} archived, ${counts.thawing} thawing, ${counts.thawed} thawed, ${counts.readable} readable at once`,
    toThaw > 0
      ? `thaw: ${formatDuration(thawMs)} (${storageClass} ${request.tier}: ${formatDuration(thawEstimate.thawRangeMs[0])}–${formatDuration(thawEstimate.thawRangeMs[1])}${rounds > 1 ? ', two rounds: folder listings first' : ''})`
      : 'thaw: none needed',
    `transfer: ${formatDuration(transfer.transferMs)} at ${formatRate(transfer.throughputBytesPerSec)} (${transfer.throughputBasis})`,
    `total RTO: ${formatDuration(totalMs)}${input.targetMs === undefined ? '' : ` (target ${formatDuration(input.targetMs)}: ${totalMs > input.targetMs ? 'over' : 'within'})`}`,
    `retrieval cost: $${thawEstimate.costUsd.toFixed(2)}`,
    ...thawEstimate.costLines.map((l) => `  ${l}`),
    ...thawEstimate.notes.map((n) => `note: ${n}`),
  ];
  return {
    ...(plan === undefined ? {} : { plan }),
    packs: packs.length,
    bytes,
    ...counts,
    treesArchived,
    thawMs,
    transferMs: transfer.transferMs,
    totalMs,
    costUsd: thawEstimate.costUsd,
    thawEstimate,
    throughputBytesPerSec: transfer.throughputBytesPerSec,
    throughputBasis: transfer.throughputBasis,
    lines,
  };
}
