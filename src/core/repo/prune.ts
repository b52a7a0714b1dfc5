/**
 * Prune: delete what no snapshot uses. Run under an exclusive repository lock
 * (no backup can be adding references meanwhile). Safe at every step against a
 * crash: repacked blobs are written to new packs first, then one new index
 * covering everything that stays, then the old index files go, and only then
 * the packs. A crash before the end leaves extra data, never missing data.
 */
import { LifeboatError } from '../errors.js';
import type { BlobLocation } from './format.js';
import { saveIndexFile, type IndexedPack } from './master-index.js';
import { mapLimit, type Repository } from './repository.js';

export interface PruneOptions {
  dryRun?: boolean;
  /** Repack a pack when less than this fraction of its bytes is still used (default 0.5). */
  repackBelow?: number;
  signal?: AbortSignal;
  /** Count these snapshots as gone (a dry run of forget-then-prune). */
  excludeSnapshots?: ReadonlySet<string>;
}

export interface PruneOutcome {
  packsBefore: number;
  packsDeleted: number;
  packsRepacked: number;
  /** Packs in data/ that no index listed (left by interrupted backups). */
  orphansDeleted: number;
  blobsUsed: number;
  blobsDropped: number;
  bytesBefore: number;
  bytesFreed: number;
  bytesRepacked: number;
}

/** Every blob any snapshot references (trees and file content). */
export async function usedBlobs(repo: Repository, excludeSnapshots: ReadonlySet<string> = new Set()): Promise<Set<string>> {
  const used = new Set<string>();
  const walk = async (treeId: string): Promise<void> => {
    if (used.has(treeId)) return;
    used.add(treeId);
    const tree = await repo.loadTree(treeId);
    for (const node of tree.nodes) {
      for (const id of node.content ?? []) used.add(id);
      if (node.subtree) await walk(node.subtree);
    }
  };
  for (const snap of await repo.listSnapshots()) if (!excludeSnapshots.has(snap.id)) await walk(snap.tree);
  return used;
}

export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneOutcome> {
  const repackBelow = options.repackBelow ?? 0.5;
  const used = await usedBlobs(repo, options.excludeSnapshots);
  const byPack = new Map<string, BlobLocation[]>();
  for (const loc of allLocations(repo)) {
    let list = byPack.get(loc.pack);
    if (!list) byPack.set(loc.pack, (list = []));
    list.push(loc);
  }
  const present = new Map<string, number>();
  for await (const info of repo.backend.list('data')) present.set(info.name, info.size);

  const deleteWhole: string[] = [];
  const repack: string[] = [];
  const keep: IndexedPack[] = [];
  let bytesBefore = 0;
  let bytesFreed = 0;
  let bytesRepacked = 0;
  let blobsDropped = 0;
  // A blob used by several packs needs one copy: the first kept pack that has it.
  const covered = new Set<string>();
  for (const [pack, { size }] of repo.index.packs) {
    bytesBefore += size;
    const blobs = byPack.get(pack) ?? [];
    const needed = blobs.filter((b) => used.has(b.id) && !covered.has(b.id));
    const usedBytes = needed.reduce((n, b) => n + b.length, 0);
    const total = blobs.reduce((n, b) => n + b.length, 0) || 1;
    if (needed.length === 0) {
      deleteWhole.push(pack);
      bytesFreed += size;
      blobsDropped += blobs.length;
    } else if (usedBytes / total < repackBelow) {
      repack.push(pack);
      bytesFreed += size;
      bytesRepacked += usedBytes;
      blobsDropped += blobs.length - needed.length;
      for (const b of needed) covered.add(b.id);
    } else {
      keep.push({ id: pack, size, blobs: blobs.map(({ pack: _p, ...rest }) => rest) });
      for (const b of needed) covered.add(b.id);
    }
  }
  const orphans = [...present.keys()].filter((p) => !repo.index.packs.has(p));
  for (const p of orphans) bytesFreed += present.get(p) ?? 0;
  const outcome: PruneOutcome = {
    packsBefore: repo.index.packs.size,
    packsDeleted: deleteWhole.length,
    packsRepacked: repack.length,
    orphansDeleted: orphans.length,
    blobsUsed: used.size,
    blobsDropped,
    bytesBefore,
    bytesFreed,
    bytesRepacked,
  };
  if (options.dryRun || (deleteWhole.length === 0 && repack.length === 0 && orphans.length === 0)) return outcome;

  // 1. Copy the still-used blobs of mostly-empty packs into new packs.
  const rewritten = new Set<string>();
  const keptIds = new Set(keep.flatMap((p) => p.blobs.map((b) => b.id)));
  for (const pack of repack) {
    if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'prune cancelled');
    for (const loc of byPack.get(pack) ?? []) {
      if (!used.has(loc.id) || rewritten.has(loc.id) || keptIds.has(loc.id)) continue;
      const data = await repo.loadBlob(loc.id);
      await repo.saveBlob(loc.type, data, () => true, { force: true });
      rewritten.add(loc.id);
    }
  }
  await repo.flushTrees();
  const fresh = repo.takeUnindexed();
  // 2. One index for everything that stays, 3. then the old index files go.
  await saveIndexFile(repo.backend, repo.key, [...keep, ...fresh]);
  await mapLimit([...repo.indexFiles], 8, (name) => repo.backend.remove({ kind: 'index', name }));
  // 4. Only now are the packs unreferenced by any index: delete them.
  await mapLimit([...deleteWhole, ...repack, ...orphans], 8, (name) => repo.backend.remove({ kind: 'data', name }));
  return outcome;
}

/** Every index entry, including duplicates of a blob in several packs. */
function* allLocations(repo: Repository): Generator<BlobLocation> {
  yield* repo.index.allEntries();
}
