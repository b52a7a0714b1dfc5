/**
 * Reads a snapshot's folder listings (trees) ahead of a walk that would load
 * them one at a time, where a request costs more than bytes (backends that
 * read several ranges in one request: S3). Planning a restore walks the trees
 * depth first, one awaited load each: the mixed dataset's 155 trees were 155
 * ranged GETs in a row, ~1.4 s before a single file was written (restic reads
 * them from its local cache). Here the trees are read a level at a time, the
 * blobs of one level that share a pack in one request (Backend.loadRanges),
 * and handed to the repository's tree cache, where the walk then finds them.
 *
 * Nothing here is trusted more than a load: every blob is opened and checked
 * (MAC, length, id) exactly as Repository.loadBlob does. A tree that does not
 * load or check out is simply not read ahead: the walk loads it itself and
 * reports it as it always did.
 */
import { loadRangesOf, type ByteRange } from '../backends/backend.js';
import type { BlobLocation } from './format.js';
import { openBlob } from './pack.js';
import { mapLimit, type Repository } from './repository.js';
import { decodeTree, type Tree } from './tree.js';

/** Trees read ahead at most: the repository's tree cache keeps 4096 before it starts over. */
const MAX_TREES = 2048;
/** Blobs of one pack further apart than this are separate requests (the bytes between are read and dropped). */
const GAP = 256 * 1024;
/** Requests in flight at once. */
const REQUESTS = 4;

export interface ReadAheadOptions {
  signal?: AbortSignal;
  /** Trees to read at most (default 2048). */
  max?: number;
}

/**
 * Reads the trees under `root` (itself included) into `repo`'s tree cache,
 * breadth first, up to `max`; returns how many it read. Does nothing where
 * the backend has no ranged multi-reads: there, one request per tree is what
 * the walk makes anyway.
 */
export async function readTreesAhead(repo: Repository, root: string, options: ReadAheadOptions = {}): Promise<number> {
  if (repo.backend.loadRanges === undefined) return 0;
  const max = options.max ?? MAX_TREES;
  const seen = new Set([root]);
  let level = [root];
  let read = 0;
  while (level.length > 0 && read < max && options.signal?.aborted !== true) {
    const trees = await readLevel(repo, level.slice(0, max - read));
    read += trees.size;
    const next: string[] = [];
    for (const [id, tree] of trees) {
      repo.keepTree(id, tree);
      for (const node of tree.nodes) {
        if (node.type !== 'dir' || node.subtree === undefined || seen.has(node.subtree)) continue;
        seen.add(node.subtree);
        next.push(node.subtree);
      }
    }
    level = next;
  }
  return read;
}

/** The trees of `ids` that loaded and checked out; a request that fails leaves its trees out. */
async function readLevel(repo: Repository, ids: readonly string[]): Promise<Map<string, Tree>> {
  const trees = new Map<string, Tree>();
  const requests: { pack: string; locs: BlobLocation[] }[] = [];
  const byPack = new Map<string, BlobLocation[]>();
  for (const id of ids) {
    const loc = repo.index.lookup(id);
    if (loc === undefined) continue;
    let locs = byPack.get(loc.pack);
    if (!locs) byPack.set(loc.pack, (locs = []));
    locs.push(loc);
  }
  for (const [pack, locs] of byPack) {
    locs.sort((a, b) => a.offset - b.offset);
    let current: BlobLocation[] | undefined;
    let end = 0;
    for (const loc of locs) {
      if (current === undefined || loc.offset < end || loc.offset - end > GAP) requests.push({ pack, locs: (current = []) });
      current.push(loc);
      end = loc.offset + loc.length;
    }
  }
  await mapLimit(requests, REQUESTS, async ({ pack, locs }) => {
    const ranges: ByteRange[] = locs.map((l) => ({ offset: l.offset, length: l.length }));
    try {
      await loadRangesOf(repo.backend, { kind: 'data', name: pack }, ranges, async (i, sealed) => {
        const loc = locs[i]!;
        const plain = openBlob(repo.key, loc, sealed);
        if (typeof plain === 'string') return;
        try {
          trees.set(loc.id, decodeTree(plain, loc.id));
        } catch {
          // Left to the walk, which reports it.
        }
      });
    } catch {
      // Not read ahead: the walk loads these itself, and says what is wrong if something is.
    }
  });
  return trees;
}
