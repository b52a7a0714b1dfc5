/**
 * Prune: delete what no snapshot uses. Run under an exclusive repository lock
 * (no backup can be adding references meanwhile).
 *
 * It never deletes what a kept snapshot uses. The index is not trusted to be
 * complete (an index file may be lost or damaged): prune builds its own view
 * from the index files that load, minus packs that are not in data/, plus the
 * headers of every pack no index lists. Every blob a snapshot uses must be
 * found in that view; if one is not, or a snapshot file cannot be read, prune
 * stops before deleting anything and names what is missing.
 *
 * Whether there is work is decided from the repository, not from the caller:
 * packs no snapshot uses, packs no index lists and older than a grace period
 * (a younger one may belong to a backup still uploading), index files that
 * are damaged or list missing packs. So a prune that was interrupted, or a
 * `forget --no-prune`, is finished by the next prune.
 *
 * Safe at every step against a crash: repacked blobs are written to new packs
 * first, then one new index covering everything that stays, then the old
 * index files go, and only then the packs. A crash before the end leaves extra
 * data, never missing data.
 */
import { commandHint } from '../command-hint.js';
import { LifeboatError } from '../errors.js';
import { removeStaleTempFilesOf } from '../backends/backend.js';
import type { BlobLocation } from './format.js';
import { packsHeldByWaitingIndexFiles, takeRetentionWaits, type RetentionWaits } from './locked-prune.js';
import { MasterIndex, saveIndexFile, type IndexedPack } from './master-index.js';
import { mapLimit, type Repository } from './repository.js';
import { shortId, type Snapshot } from './snapshot.js';

/** restic and kopia wait too; a day covers a backup that uploads slowly or resumes the next night. */
export const defaultOrphanGraceMs = 24 * 60 * 60 * 1000;

export interface PruneOptions {
  dryRun?: boolean;
  /** Repack a pack when less than this fraction of its bytes is still used (default 0.5). */
  repackBelow?: number;
  signal?: AbortSignal;
  /** Count these snapshots as gone (a dry run of forget-then-prune). */
  excludeSnapshots?: ReadonlySet<string>;
  /** The time the grace period is measured from (default: now). */
  now?: Date;
  /** A pack no index lists is deleted only once older than this (default 24 h). */
  orphanGraceMs?: number;
}

export interface PruneOutcome {
  packsBefore: number;
  packsDeleted: number;
  packsRepacked: number;
  /** Packs in data/ that no index listed and no snapshot uses, older than the grace period. */
  orphansDeleted: number;
  /** Packs no index listed that hold data a snapshot uses: indexed again and kept. */
  orphansAdopted: number;
  /** Packs no index listed, younger than the grace period: left for a later prune. */
  orphansYoung: number;
  /** Packs an index lists that are not in data/ (none of their blobs is used, else prune would have stopped). */
  packsMissing: number;
  /** Index files replaced by prune's new one (damaged ones included). */
  indexFilesReplaced: number;
  blobsUsed: number;
  blobsDropped: number;
  bytesBefore: number;
  bytesFreed: number;
  bytesRepacked: number;
  /** An Object Lock repository: what was to be deleted (here or by the forget before) and retention still holds (locked-prune.ts). */
  retentionWaits?: RetentionWaits;
}

/** Every blob the snapshots reference (trees and file content), looked up in `index`; `missing` lists what it lacks. */
export async function usedBlobs(
  repo: Repository,
  snapshots: readonly Snapshot[],
  index: MasterIndex = repo.index,
): Promise<{ used: Set<string>; missing: Map<string, string> }> {
  const used = new Set<string>();
  const missing = new Map<string, string>(); // blob id → first "snapshot:path" that needs it
  const walk = async (treeId: string, where: string): Promise<void> => {
    if (used.has(treeId)) return;
    used.add(treeId);
    if (!index.has(treeId)) {
      missing.set(treeId, `${where} (folder listing)`);
      return;
    }
    const tree = await repo.loadTree(treeId, index);
    for (const node of tree.nodes) {
      const path = `${where}/${node.name}`;
      for (const id of node.content ?? []) {
        used.add(id);
        if (!index.has(id) && !missing.has(id)) missing.set(id, path);
      }
      if (node.subtree) await walk(node.subtree, path);
    }
  };
  for (const snap of snapshots) await walk(snap.tree, `${shortId(snap.id)}:`);
  return { used, missing };
}

interface PrunePlan {
  outcome: PruneOutcome;
  view: MasterIndex;
  used: Set<string>;
  keep: IndexedPack[];
  repack: string[];
  remove: string[];
  /** Whether anything is written or removed at all. */
  work: boolean;
}

export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneOutcome> {
  const plan = await planPrune(repo, options);
  if (!options.dryRun && plan.work) await executePrune(repo, plan, options.signal);
  const waits = options.dryRun ? undefined : takeRetentionWaits(repo);
  if (waits) plan.outcome.retentionWaits = waits;
  // Temp files of saves a killed process left behind (the local backend's own grace: one hour).
  if (!options.dryRun) await removeStaleTempFilesOf(repo.backend);
  return plan.outcome;
}

async function planPrune(repo: Repository, options: PruneOptions): Promise<PrunePlan> {
  const repackBelow = options.repackBelow ?? 0.5;
  const now = (options.now ?? new Date()).getTime();
  const grace = options.orphanGraceMs ?? defaultOrphanGraceMs;
  const excluded = options.excludeSnapshots ?? new Set<string>();

  const snapshots = (await repo.listSnapshots()).filter((s) => !excluded.has(s.id));
  if (repo.damagedSnapshots.length > 0) {
    const names = repo.damagedSnapshots.map((d) => `${shortId(d.name)} (${d.problem})`);
    throw new LifeboatError(
      'PRUNE_REFUSED',
      `prune stopped and deleted nothing: ${names.length} snapshot file(s) cannot be read, and one may be the only record of data it uses: ${names.join('; ')}. ` +
        `Run ${commandHint('check', repo.runbook)} to see them; remove them from snapshots/ once you know they are not needed.`,
    );
  }

  // The view: indexed packs that are really there, then every pack no index lists, by its own header.
  const present = new Map<string, { size: number; modified?: Date }>();
  for await (const info of repo.backend.list('data')) present.set(info.name, { size: info.size, modified: info.modified });
  const view = new MasterIndex();
  let packsMissing = 0;
  for (const [pack, info] of repo.index.packs) {
    if (present.get(pack)?.size === info.size) view.add(repo.index.indexedPack(pack)!);
    else packsMissing++;
  }
  const orphanIds = [...present.keys()].filter((p) => !repo.index.packs.has(p));
  const orphans = new Map<string, IndexedPack | undefined>();
  await mapLimit(orphanIds, 8, async (name) => {
    orphans.set(name, await repo.readOrphanHeader(name, present.get(name)!.size));
  });
  for (const pack of orphans.values()) if (pack) view.add(pack);

  const { used, missing } = await usedBlobs(repo, snapshots, view);
  if (missing.size > 0) throw missingBlobsError(missing, snapshots, repo.runbook);

  // Which packs stay, which are repacked, which go. Indexed packs come first, so a blob
  // that is also in an unindexed pack is kept where the index already says it is.
  const keep: IndexedPack[] = [];
  const repack: string[] = [];
  const remove: string[] = [];
  const covered = new Set<string>();
  const outcome: PruneOutcome = {
    packsBefore: repo.index.packs.size,
    packsDeleted: 0,
    packsRepacked: 0,
    orphansDeleted: 0,
    orphansAdopted: 0,
    orphansYoung: 0,
    packsMissing,
    indexFilesReplaced: 0,
    blobsUsed: used.size,
    blobsDropped: 0,
    bytesBefore: 0,
    bytesFreed: 0,
    bytesRepacked: 0,
  };
  const isOld = (pack: string) => {
    const modified = present.get(pack)?.modified;
    // A store that cannot say when an object was written never gets an unindexed pack deleted.
    return modified !== undefined && now - modified.getTime() >= grace;
  };
  const ordered = [...view.packs.keys()].sort((a, b) => Number(orphans.has(a)) - Number(orphans.has(b)));
  for (const pack of ordered) {
    const { size } = view.packs.get(pack)!;
    const orphan = orphans.has(pack);
    outcome.bytesBefore += size;
    const blobs = view.blobsOf(pack);
    const needed = blobs.filter((b) => used.has(b.id) && !covered.has(b.id));
    const usedBytes = needed.reduce((n, b) => n + b.length, 0);
    const total = blobs.reduce((n, b) => n + b.length, 0) || 1;
    if (needed.length === 0) {
      if (orphan && !isOld(pack)) {
        outcome.orphansYoung++;
        continue;
      }
      remove.push(pack);
      if (orphan) outcome.orphansDeleted++;
      else outcome.packsDeleted++;
      outcome.bytesFreed += size;
      outcome.blobsDropped += blobs.length;
    } else if (!orphan && usedBytes / total < repackBelow) {
      repack.push(pack);
      outcome.packsRepacked++;
      outcome.bytesFreed += size;
      outcome.bytesRepacked += usedBytes;
      outcome.blobsDropped += blobs.length - needed.length;
      for (const b of needed) covered.add(b.id);
    } else {
      keep.push(view.indexedPack(pack)!);
      if (orphan) outcome.orphansAdopted++;
      for (const b of needed) covered.add(b.id);
    }
  }
  // Unreadable unindexed packs: every used blob was found elsewhere, so once old they can go.
  for (const [pack, header] of orphans) {
    if (header) continue;
    const size = present.get(pack)!.size;
    outcome.bytesBefore += size;
    if (!isOld(pack)) {
      outcome.orphansYoung++;
      continue;
    }
    remove.push(pack);
    outcome.orphansDeleted++;
    outcome.bytesFreed += size;
  }
  const indexOutdated = packsMissing > 0 || repo.damagedIndexFiles.length > 0 || outcome.orphansAdopted > 0;
  const work = remove.length > 0 || repack.length > 0 || indexOutdated;
  if (work) outcome.indexFilesReplaced = repo.indexFiles.size;
  return { outcome, view, used, keep, repack, remove, work };
}

async function executePrune(repo: Repository, plan: PrunePlan, signal?: AbortSignal): Promise<void> {
  // 1. Copy the still-used blobs of mostly-empty packs into new packs.
  const rewritten = new Set<string>();
  const keptIds = new Set(plan.keep.flatMap((p) => p.blobs.map((b) => b.id)));
  for (const pack of plan.repack) {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'prune cancelled');
    for (const loc of plan.view.blobsOf(pack)) {
      if (!plan.used.has(loc.id) || rewritten.has(loc.id) || keptIds.has(loc.id)) continue;
      const data = await loadFrom(repo, loc);
      await repo.saveBlob(loc.type, data, () => true, { force: true });
      rewritten.add(loc.id);
    }
  }
  await repo.flushTrees();
  const fresh = repo.takeUnindexed();
  // 2. One index for everything that stays, 3. then the old index files go.
  const packs = [...plan.keep, ...fresh];
  const file = await saveIndexFile(repo.backend, repo.key, packs);
  await mapLimit([...repo.indexFiles], 8, (name) => repo.backend.remove({ kind: 'index', name }));
  repo.replaceIndex(packs, file);
  // 4. Only now are the packs unreferenced by any index: delete them (but not those an index file retention kept still lists).
  const held = await packsHeldByWaitingIndexFiles(repo);
  await mapLimit(plan.remove.concat(plan.repack), 8, async (name) => {
    if (held.has(name)) repo.objectLock?.waiting.push({ kind: 'data', name });
    else await repo.backend.remove({ kind: 'data', name });
  });
}

/** A blob from the pack prune is reading it out of (the repository's own index may point elsewhere). */
async function loadFrom(repo: Repository, loc: BlobLocation): Promise<Buffer> {
  const one = new MasterIndex();
  one.add({ id: loc.pack, size: 0, blobs: [loc], legacy: loc.legacy });
  return repo.loadBlob(loc.id, one);
}

function missingBlobsError(missing: Map<string, string>, snapshots: readonly Snapshot[], runbook: string | undefined): LifeboatError {
  const shown = [...missing].slice(0, 10).map(([id, where]) => `${id.slice(0, 12)} (${where})`);
  const more = missing.size > shown.length ? `, and ${missing.size - shown.length} more` : '';
  const snaps = new Set([...missing.values()].map((where) => where.slice(0, where.indexOf(':'))));
  const names = snapshots.filter((s) => snaps.has(shortId(s.id))).map((s) => shortId(s.id));
  return new LifeboatError(
    'PRUNE_REFUSED',
    `prune stopped and deleted nothing: ${missing.size} blob(s) used by kept snapshot(s) ${names.join(', ')} are in no pack of the repository (neither in the index nor in any pack's own header): ${shown.join('; ')}${more}. ` +
      `Run ${commandHint('check', runbook, '--read-data')} to see the damage; the data of those files is lost from this repository.`,
    { details: { missing: [...missing.keys()], snapshots: names } },
  );
}
