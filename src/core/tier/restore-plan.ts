/**
 * Which packs a restore of a snapshot (or of a path in it) reads, and how many
 * bytes, from the restore's own plan (src/core/repo/snapshot-plan.ts: the
 * walk the restorer writes from). Trees are blobs in tree packs, so the walk
 * reads those; data packs are only looked up in the index. That is what lets
 * a cold restore know what to thaw before it reads a single data pack.
 */
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import { planSnapshot, type SnapshotPlan } from '../repo/snapshot-plan.js';

export interface PlannedPack {
  /** Pack id (the name of its data/ object). */
  pack: string;
  /** Bytes of this pack the restore reads (its needed blobs). */
  neededBytes: number;
  /** The whole pack's bytes as the index knows them (what a thaw brings back and is billed for). */
  packBytes: number;
}

export interface RestorePlan {
  snapshot: string;
  subPath?: string;
  /** Data packs the content lives in, sorted by id. */
  packs: PlannedPack[];
  files: number;
  /** Plaintext bytes of the files. */
  fileBytes: number;
  /** Sum of the packs' neededBytes. */
  neededBytes: number;
  /** Sum of the packs' packBytes. */
  packBytes: number;
  /** Content blobs the index does not know (the restore will report those files as damaged). */
  missingBlobs: number;
}

/** Plans a restore of `snapshot` (or of `subPath` in it). Reads trees, writes nothing. */
export async function planRestore(repo: Repository, snapshot: Snapshot, subPath?: string): Promise<RestorePlan> {
  return packsToRead(repo, await planSnapshot(repo, snapshot, { subPath }));
}

/**
 * The packs and bytes a planned restore reads. A folder listing that could not
 * be read fails the plan (its REPO_CORRUPT): a thaw or a forecast that left
 * out a folder's packs would be wrong without saying so.
 */
export function packsToRead(repo: Repository, walk: SnapshotPlan): RestorePlan {
  const unreadable = walk.unreadable[0]?.listingError;
  if (unreadable !== undefined) throw unreadable;
  const needed = new Map<string, Map<string, number>>();
  let missingBlobs = 0;
  for (const file of walk.files) {
    missingBlobs += file.missing?.length ?? 0;
    for (const loc of file.locs) {
      let blobs = needed.get(loc.pack);
      if (!blobs) needed.set(loc.pack, (blobs = new Map()));
      blobs.set(loc.id, loc.length);
    }
  }
  const packs: PlannedPack[] = [...needed.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pack, blobs]) => ({
      pack,
      neededBytes: [...blobs.values()].reduce((n, b) => n + b, 0),
      packBytes: packBytesOf(repo, pack),
    }));
  return {
    snapshot: walk.snapshot.id,
    ...(walk.subPath === undefined ? {} : { subPath: walk.subPath }),
    packs,
    files: walk.files.length,
    fileBytes: walk.fileBytes,
    neededBytes: packs.reduce((n, p) => n + p.neededBytes, 0),
    packBytes: packs.reduce((n, p) => n + p.packBytes, 0),
    missingBlobs,
  };
}

/** Packs that hold folder listings (tree blobs): a walk of any snapshot reads only these. */
export function treePacksOf(repo: Repository): PlannedPack[] {
  const packs = new Set(repo.index.byType('tree').map((b) => b.pack));
  return [...packs].sort().map((pack) => ({ pack, neededBytes: packBytesOf(repo, pack), packBytes: packBytesOf(repo, pack) }));
}

/** Every data pack the index knows: the upper bound when the folder listings themselves cannot be read yet. */
export function allPacksOf(repo: Repository): PlannedPack[] {
  return [...repo.index.packs.keys()].sort().map((pack) => ({ pack, neededBytes: packBytesOf(repo, pack), packBytes: packBytesOf(repo, pack) }));
}

/** A pack's size as the index records it (the whole object, header included). */
function packBytesOf(repo: Repository, pack: string): number {
  const known = repo.index.packs.get(pack)?.size;
  if (known !== undefined) return known;
  let end = 0;
  for (const b of repo.index.blobsOf(pack)) end = Math.max(end, b.offset + b.length);
  return end;
}
