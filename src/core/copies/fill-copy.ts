/**
 * Fill one copy from the hot repository: copy the runbook's snapshots the copy
 * lacks (only the blobs it lacks: the tier's copy engine, src/core/tier/copy.ts),
 * make them durable at the copy's destination, verify them there, then apply
 * the copy's own retention.
 *
 * Crash-safe the way tiering is (src/core/tier/tier-snapshots.ts): per
 * snapshot, packs, then index, then the snapshot record carrying its
 * "copied from" mark. A run killed half-way leaves packs (indexed or orphan)
 * and no record; the next run indexes the orphans (recoverOrphanPacks), finds
 * their blobs and writes only what is still missing, and a snapshot whose
 * record made it is found by its mark and never copied twice.
 */
import { createHash } from 'node:crypto';
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { EventSink } from '../events.js';
import { applyRetention } from '../pipeline/retention-policy.js';
import { forgetAndPrune } from '../pipeline/retention-stage.js';
import type { OpenedRepository } from '../repo/open-repository.js';
import { prune } from '../repo/prune.js';
import { mapLimit } from '../repo/repository.js';
import { shortId, type Snapshot } from '../repo/snapshot.js';
import type { Runbook } from '../runbook/types.js';
import { withRepositoryLock, type LockRequest } from '../runs/repository-lock.js';
import { SnapshotCopier, copiesByOrigin } from '../tier/copy.js';
import { verifyColdCopy } from '../tier/verify-copy.js';

export interface FillCopyInput {
  /** The runbook as it writes the copy (copy-runbook.ts: the copy is its hot repository, `keep` its retention). */
  copyRunbook: Runbook;
  copyName: string;
  /** The hot repository, open with a fresh index. */
  hot: OpenedRepository;
  /** The copy, open with its index loaded. */
  copy: OpenedRepository;
  now: Date;
  emit: EventSink;
  runId?: string;
  signal?: AbortSignal;
}

export interface FillCopyOutcome {
  /** Hot snapshots of the runbook the copy lacked and its policy keeps. */
  missing: number;
  snapshotsCopied: number;
  blobsCopied: number;
  blobsDeduplicated: number;
  bytesUploaded: number;
  packsWritten: number;
  /** Packs an interrupted run left in the copy without an index, indexed and reused now. */
  orphanPacksReused: number;
  leftoversUploaded: number;
  /** New packs read back from the destination and found whole. */
  packsReadBack: number;
  forgotten: number;
  packsPruned: number;
  /** Bytes of packs the copy's index lists once filled and retained. */
  storedBytes?: number;
  /** The copy's newest snapshot of this runbook once filled, and the time of the hot snapshot it is a copy of. */
  newest?: { id: string; time: string };
  /** Verification problems (the copy is then reported failed). */
  problems: string[];
}

export function emptyFillOutcome(): FillCopyOutcome {
  return {
    missing: 0,
    snapshotsCopied: 0,
    blobsCopied: 0,
    blobsDeduplicated: 0,
    bytesUploaded: 0,
    packsWritten: 0,
    orphanPacksReused: 0,
    leftoversUploaded: 0,
    packsReadBack: 0,
    forgotten: 0,
    packsPruned: 0,
    problems: [],
  };
}

/**
 * Throws what stopped it (an unreachable destination is a retryable
 * LifeboatError, TRANSFER_PENDING once staging gave up); `out` holds the
 * counters reached so far either way.
 */
export async function fillCopy(input: FillCopyInput, out: FillCopyOutcome = emptyFillOutcome()): Promise<FillCopyOutcome> {
  const { copyRunbook: runbook, hot, copy, signal } = input;
  const log = (message: string, level: 'info' | 'debug' | 'warn' = 'info') =>
    input.emit({ type: 'log', level, runId: input.runId, message: `copy ${input.copyName}: ${message}` });

  // What an interrupted run staged goes first: this run dedups against it.
  if (copy.staging) {
    const left = await copy.staging.adoptLeftovers();
    if (left.objects > 0) {
      log(`uploading ${left.objects} object(s) an earlier run left in staging`);
      await copy.staging.flush(signal);
      out.leftoversUploaded = left.objects;
      // Their index files are in the copy now; read it again so their blobs count as present.
      await copy.repo.loadIndex();
    }
  }

  const copier = new SnapshotCopier(hot.repo, copy.repo, { signal });
  const copied: string[] = [];
  await withRepositoryLock(hot.repo.backend, shared(`copy ${input.copyName} of ${runbook.name} (reading)`), () =>
    withRepositoryLock(copy.repo.backend, shared(`copy ${input.copyName} of ${runbook.name} (writing)`), async () => {
      const recovered = await copy.repo.recoverOrphanPacks();
      out.orphanPacksReused = recovered.packs;
      if (recovered.packs > 0) log(`indexed ${recovered.packs} pack(s) an interrupted copy left behind`);
      const todo = await snapshotsToCopy(hot.repo, copy.repo, runbook, input.now);
      out.missing = todo.length;
      const byOrigin = copiesByOrigin(await copy.repo.listSnapshots(), hot.repo.config.id);
      const copyIdOfHot = new Map([...byOrigin].map(([h, c]) => [h, c.id]));
      for (const snap of todo) {
        const parent = snap.parent === undefined ? undefined : copyIdOfHot.get(snap.parent);
        const written = await copier.copySnapshot(snap, parent);
        copyIdOfHot.set(snap.id, written.id);
        copied.push(written.id);
        out.snapshotsCopied++;
        log(`copied ${shortId(snap.id)} (${snap.time}) → ${shortId(written.id)}`);
      }
    }),
  );
  out.blobsCopied = copier.progress.blobsCopied;
  out.blobsDeduplicated = copier.progress.blobsDeduplicated;
  out.packsWritten = copy.repo.written.length;

  // A staged copy is not a copy yet: durable at the destination before it is verified.
  if (copy.staging) {
    await copy.staging.flush(signal);
    out.bytesUploaded = copy.staging.uploadedBytes;
  } else {
    out.bytesUploaded = copy.repo.written.reduce((n, p) => n + p.size, 0);
  }
  if (signal?.aborted) throw new LifeboatError('CANCELLED', `copy ${input.copyName} cancelled before it was verified`);

  const remote = copy.staging?.remote ?? copy.repo.backend;
  if (copied.length > 0) {
    const verification = await verifyColdCopy(copy.repo, remote, { snapshots: copied, referenced: copier.referenced, signal });
    out.problems.push(...verification.problems);
    out.problems.push(...(await readBack(remote, copy.repo.written, out)));
  }
  if (out.problems.length > 0) {
    log(`did not verify: ${out.problems.slice(0, 3).join('; ')}`, 'warn');
    return out;
  }

  if (runbook.retention !== undefined) {
    await withRepositoryLock(copy.repo.backend, { mode: 'exclusive', purpose: `retention of copy ${input.copyName} of ${runbook.name}` }, async () => {
      // Prune only when something was forgotten: on a remote copy it lists and reads every index, each run otherwise.
      const retained = await forgetAndPrune(copy.repo, runbook, { now: input.now, signal, prune: false });
      out.forgotten = retained.forgotten;
      if (retained.forgotten > 0) {
        const pruned = await prune(copy.repo, { signal, now: input.now });
        out.packsPruned = pruned.packsDeleted + pruned.packsRepacked;
      }
      await copy.staging?.flush(signal);
    });
  }
  out.newest = newestOf(await copy.repo.listSnapshots(), runbook.name);
  let stored = 0;
  for (const { size } of copy.repo.index.packs.values()) stored += size;
  out.storedBytes = stored;
  return out;
}

/**
 * The runbook's hot snapshots that the copy has no copy of, oldest first (a
 * parent is copied before its child). With a `keep` policy, only those the
 * policy would keep were they in the copy: a snapshot the copy's retention
 * forgot is not brought back by the next run.
 */
async function snapshotsToCopy(hot: OpenedRepository['repo'], copy: OpenedRepository['repo'], runbook: Runbook, now: Date): Promise<Snapshot[]> {
  const inCopy = (await copy.listSnapshots()).filter((s) => s.runbook === runbook.name);
  const have = copiesByOrigin(inCopy, hot.config.id);
  const missing = (await hot.listSnapshots()).filter((s) => s.runbook === runbook.name && !have.has(s.id));
  const sorted = missing.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  if (runbook.retention === undefined || sorted.length === 0) return sorted;
  const plan = applyRetention([...inCopy, ...sorted], runbook.retention, { now, timezone: runbook.schedule?.timezone });
  const kept = new Set(plan.keep.map((k) => k.id));
  return sorted.filter((s) => kept.has(s.id));
}

/** Every pack this run wrote, read back from the destination: its bytes must hash to its name. */
async function readBack(remote: OpenedRepository['backend'], written: readonly { id: string; size: number }[], out: FillCopyOutcome): Promise<string[]> {
  const problems: string[] = [];
  await mapLimit(written, 4, async (pack) => {
    try {
      const bytes = await remote.load({ kind: 'data', name: pack.id });
      const hash = createHash('sha256').update(bytes).digest('hex');
      if (hash !== pack.id) problems.push(`pack ${pack.id.slice(0, 12)} read back from ${remote.location} does not match its hash`);
      else out.packsReadBack++;
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
      problems.push(`pack ${pack.id.slice(0, 12)} is missing in ${remote.location}`);
    }
  });
  return problems;
}

function newestOf(snapshots: readonly Snapshot[], runbook: string): { id: string; time: string } | undefined {
  const mine = snapshots.filter((s) => s.runbook === runbook).sort((a, b) => a.time.localeCompare(b.time));
  const last = mine.at(-1);
  return last && { id: last.id, time: last.time };
}

/** Reading hot and writing the copy are shared, like a backup; prune (exclusive) waits. */
function shared(purpose: string): LockRequest {
  return { mode: 'shared', purpose };
}
