/**
 * The tier operation (the pipeline's last stage, src/core/pipeline/backup-run.ts): copy old snapshots to the cold
 * repository, make the copy durable at the destination, verify it there, and
 * only then forget the snapshots in hot and prune.
 *
 * Whatever point a crash (SIGKILL) interrupts, nothing is lost and a re-run
 * completes it:
 * - before the cold snapshot record: cold holds extra packs/index, hot is whole;
 *   the re-run finds those blobs in cold's index and writes only what is missing;
 * - after the cold record, before the hot forget: the re-run finds the copy by
 *   its `copiedFrom`, recomputes the cold ids, checks they lead to the same
 *   root tree, verifies and forgets — no second cold copy;
 * - during the hot forget or prune: prune is crash-safe on its own (prune.ts),
 *   and a snapshot removed from hot had its cold copy verified first.
 */
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { OpenedRepository } from '../repo/open-repository.js';
import { prune, type PruneOutcome } from '../repo/prune.js';
import type { Repository } from '../repo/repository.js';
import { shortId } from '../repo/snapshot.js';
import type { Runbook } from '../runbook/types.js';
import type { Clock } from '../clock.js';
import { withRepositoryLock, type LockRequest } from '../runs/repository-lock.js';
import { SnapshotCopier, copiesByOrigin, type ColdSnapshot } from './copy.js';
import { selectForTier, type TierSelection } from './select.js';
import { verifyColdCopy } from './verify-copy.js';

export interface TierInput {
  runbook: Runbook;
  clock: Clock;
  emit: EventSink;
  runId?: string;
  signal?: AbortSignal;
  /** The hot repository, open with its index loaded. */
  hot: OpenedRepository;
  /** The cold repository, open with its index loaded. */
  cold: OpenedRepository;
  /** List what would move; change nothing. */
  dryRun?: boolean;
}

export interface TierCandidate {
  id: string;
  time: string;
  /** Already copied by an earlier (interrupted) run: only verify and forget. */
  alreadyCold: boolean;
}

export interface TierOutcome {
  candidates: TierCandidate[];
  /** Old enough, but the newest of their source set: they stay hot. */
  keptAsNewest: string[];
  snapshotsCopied: number;
  snapshotsAlreadyCold: number;
  blobsCopied: number;
  blobsDeduplicated: number;
  bytesRead: number;
  bytesStored: number;
  /** Bytes the destination confirmed (staged repositories), or written directly (folders). */
  bytesUploaded: number;
  packsWritten: number;
  leftoversUploaded: number;
  snapshotsVerified: number;
  packsChecked: number;
  snapshotsForgotten: number;
  packsPruned: number;
  bytesFreed: number;
  /** Hot id → cold id of every snapshot whose cold copy verified. */
  moved: { hot: string; cold: string }[];
  /** Set when the destination is unreachable: the copy waits in staging, nothing was forgotten in hot. */
  pending?: LifeboatError;
  /** Verification problems: nothing was forgotten in hot. */
  problems: string[];
}

export function emptyTierOutcome(): TierOutcome {
  return {
    candidates: [],
    keptAsNewest: [],
    snapshotsCopied: 0,
    snapshotsAlreadyCold: 0,
    blobsCopied: 0,
    blobsDeduplicated: 0,
    bytesRead: 0,
    bytesStored: 0,
    bytesUploaded: 0,
    packsWritten: 0,
    leftoversUploaded: 0,
    snapshotsVerified: 0,
    packsChecked: 0,
    snapshotsForgotten: 0,
    packsPruned: 0,
    bytesFreed: 0,
    moved: [],
    problems: [],
  };
}

/** The counters a run record keeps for the tier stage. */
export function tierCounters(o: TierOutcome): Record<string, number> {
  return {
    candidates: o.candidates.length,
    snapshotsCopied: o.snapshotsCopied,
    snapshotsAlreadyCold: o.snapshotsAlreadyCold,
    blobsCopied: o.blobsCopied,
    blobsDeduplicated: o.blobsDeduplicated,
    bytesRead: o.bytesRead,
    bytesStored: o.bytesStored,
    bytesUploaded: o.bytesUploaded,
    packsWritten: o.packsWritten,
    snapshotsVerified: o.snapshotsVerified,
    snapshotsForgotten: o.snapshotsForgotten,
    packsPruned: o.packsPruned,
    bytesFreed: o.bytesFreed,
  };
}

export async function tierSnapshots(input: TierInput): Promise<TierOutcome> {
  const { runbook, emit, runId, signal } = input;
  const cold = input.cold.repo;
  const hot = input.hot.repo;
  const out = emptyTierOutcome();
  const log = (message: string, level: 'info' | 'debug' | 'warn' = 'info') => emit({ type: 'log', level, runId, message: `tier: ${message}` });

  // What an interrupted run left staged goes first: its packs and index may be what this run dedups against.
  if (input.cold.staging && !input.dryRun) {
    const left = await input.cold.staging.adoptLeftovers();
    if (left.objects > 0) {
      log(`uploading ${left.objects} object(s) an earlier tier run left in staging`);
      try {
        await input.cold.staging.flush(signal);
        out.leftoversUploaded = left.objects;
      } catch (e) {
        if (!isLifeboatError(e, 'TRANSFER_PENDING')) throw e;
        out.pending = e;
        return out;
      }
    }
  }

  const { selection, copies } = await planTier(hot, cold, runbook, input.clock.now());
  out.keptAsNewest = selection.keptAsNewest.map((s) => s.id);
  out.candidates = selection.move.map((s) => ({ id: s.id, time: s.time, alreadyCold: copies.has(s.id) }));
  if (input.dryRun || selection.move.length === 0) return out;

  const copier = new SnapshotCopier(hot, cold, {
    signal,
    onProgress: (p) => emit({ type: 'stage.progress', runId: runId ?? '', stage: 'tier', progress: { files: p.blobsCopied + p.blobsDeduplicated, bytes: p.bytesRead, bytesNew: p.bytesStored } }),
  });
  const moved: { hot: string; cold: string }[] = [];
  await withRepositoryLock(hot.backend, sharedIfReachable(`tier of ${runbook.name} (reading)`, input.hot, log), () =>
    withRepositoryLock(cold.backend, sharedIfReachable(`tier of ${runbook.name} (copying)`, input.cold, log), async () => {
      const coldIdOfHot = new Map<string, string>([...copies].map(([h, c]) => [h, c.id]));
      for (const snap of selection.move) {
        const existing = copies.get(snap.id);
        const tree = await copier.copyData(snap);
        if (existing) {
          // Same hot snapshot, same cold key: the re-encoded trees must come out the same.
          if (existing.tree !== tree) {
            out.problems.push(`cold snapshot ${shortId(existing.id)} claims to be a copy of ${shortId(snap.id)} but its root tree differs`);
            continue;
          }
          out.snapshotsAlreadyCold++;
          moved.push({ hot: snap.id, cold: existing.id });
          log(`${shortId(snap.id)} already has a cold copy ${shortId(existing.id)}`, 'debug');
          continue;
        }
        const parent = snap.parent === undefined ? undefined : coldIdOfHot.get(snap.parent);
        const written = await copier.writeSnapshot(snap, tree, parent);
        coldIdOfHot.set(snap.id, written.id);
        out.snapshotsCopied++;
        moved.push({ hot: snap.id, cold: written.id });
        log(`copied ${shortId(snap.id)} (${snap.time}) → cold snapshot ${shortId(written.id)}`);
      }
    }),
  );
  Object.assign(out, {
    blobsCopied: copier.progress.blobsCopied,
    blobsDeduplicated: copier.progress.blobsDeduplicated,
    bytesRead: copier.progress.bytesRead,
    bytesStored: copier.progress.bytesStored,
    packsWritten: cold.written.length,
  });

  // Durable at the destination before anything else: a staged copy is not a copy yet.
  const staging = input.cold.staging;
  if (staging) {
    try {
      await staging.flush(signal);
    } catch (e) {
      if (!isLifeboatError(e, 'TRANSFER_PENDING')) throw e;
      out.pending = e;
      out.bytesUploaded = staging.uploadedBytes;
      return out;
    }
    out.bytesUploaded = staging.uploadedBytes;
  } else {
    out.bytesUploaded = cold.written.reduce((n, p) => n + p.size, 0);
  }
  if (signal?.aborted) throw new LifeboatError('CANCELLED', 'tiering cancelled before the copy was verified; nothing was forgotten in hot');

  const verification = await verifyColdCopy(cold, staging?.remote ?? cold.backend, { snapshots: moved.map((m) => m.cold), referenced: copier.referenced, signal });
  out.packsChecked = verification.packsChecked;
  out.problems.push(...verification.problems);
  if (signal?.aborted) throw new LifeboatError('CANCELLED', 'tiering cancelled before the hot snapshots were forgotten');
  if (out.problems.length > 0) {
    log(`the cold copy did not verify; nothing is forgotten in hot: ${out.problems.slice(0, 3).join('; ')}`, 'warn');
    return out;
  }
  out.snapshotsVerified = moved.length;
  out.moved = moved;

  const pruned = await forgetInHot(input.hot, moved.map((m) => m.hot), runbook.name, input.clock.now(), signal);
  out.snapshotsForgotten = moved.length;
  if (pruned) {
    out.packsPruned = pruned.packsDeleted + pruned.packsRepacked + pruned.orphansDeleted;
    out.bytesFreed = pruned.bytesFreed;
  }
  log(`moved ${moved.length} snapshot(s) to ${cold.backend.location}; pruned ${out.packsPruned} hot pack(s)`);
  return out;
}

/**
 * What would move now, and which of those already have a cold copy. `cold` is
 * undefined when no cold repository exists yet (a dry run before the first tier).
 */
export async function planTier(hot: Repository, cold: Repository | undefined, runbook: Runbook, now: Date): Promise<{ selection: TierSelection; copies: Map<string, ColdSnapshot> }> {
  const afterMs = runbook.repository.cold?.afterMs;
  if (afterMs === undefined) throw new LifeboatError('USAGE', `runbook ${runbook.name} has no cold repository (add repository.cold with url, storageClass and after)`);
  const selection = selectForTier(await hot.listSnapshots(), { runbook: runbook.name, now, afterMs });
  const copies = cold ? copiesByOrigin(await cold.listSnapshots(), hot.config.id) : new Map<string, ColdSnapshot>();
  return { selection, copies };
}

/** Remove the verified snapshots from hot and prune, under an exclusive lock (no backup adds references meanwhile). */
async function forgetInHot(hot: OpenedRepository, ids: readonly string[], runbook: string, now: Date, signal?: AbortSignal): Promise<PruneOutcome | undefined> {
  if (ids.length === 0) return undefined;
  return withRepositoryLock(hot.repo.backend, { mode: 'exclusive', purpose: `tier of ${runbook} (forgetting moved snapshots)` }, async () => {
    for (const id of ids) await hot.repo.removeSnapshot(id);
    const outcome = await prune(hot.repo, { signal, now });
    // A staged (remote) hot repository: prune's new index must reach the destination too.
    await hot.staging?.flush(signal);
    return outcome;
  });
}

/**
 * Reading hot and writing cold happen under shared locks, like a backup. A
 * staged remote that is down cannot be locked; the copy still stages (uploads
 * keep their order) and the run ends transfer-pending.
 */
function sharedIfReachable(purpose: string, opened: OpenedRepository, log: (m: string, l?: 'warn') => void): LockRequest {
  return { mode: 'shared', purpose, unlockedIfUnreachable: { staged: opened.staging !== undefined, warn: (m) => log(m, 'warn') } };
}

