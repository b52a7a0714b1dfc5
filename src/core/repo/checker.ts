/**
 * `check`: is the repository whole, and would a restore work?
 *
 * Structure (always): every indexed pack exists with its indexed size; every
 * snapshot's trees load; every blob they reference is indexed. With read-data:
 * packs are read in full, their SHA-256 compared with their name, their header
 * compared with the index, and every blob decrypted and verified — in workers.
 * A damaged blob is traced back to the snapshots and files that use it.
 */
import { LifeboatError } from '../errors.js';
import { mapLimit, type Repository } from './repository.js';
import { shortId, type Snapshot } from './snapshot.js';
import { WorkerPool, localPackPath } from './worker-pool.js';
import type { VerifyPackResult } from './worker-protocol.js';

export interface CheckInput {
  repo: Repository;
  /** Fraction of packs to read in full (0 = structure only, 1 = all). */
  readData?: number;
  /** Picks which packs a partial read covers; the same seed picks the same packs. */
  sampleSeed?: number;
  signal?: AbortSignal;
  workers?: number;
  onProgress?: (p: { packsRead: number; packsToRead: number; bytesRead: number }) => void;
}

export interface DamagedPack {
  pack: string;
  problems: string[];
  /** Files (as `snapshot:path`) whose content is in a damaged blob of this pack. */
  affectedFiles: string[];
}

export interface CheckOutcome {
  snapshots: number;
  packs: number;
  blobs: number;
  treesChecked: number;
  packsRead: number;
  bytesRead: number;
  /** Packs present but in no index (an interrupted backup; reused by the next backup). */
  unindexedPacks: number;
  errors: string[];
  damaged: DamagedPack[];
}

export async function checkRepository(input: CheckInput): Promise<CheckOutcome> {
  const { repo } = input;
  const errors: string[] = [];
  const damaged = new Map<string, DamagedPack>();
  const damagedBlobs = new Map<string, string>(); // blob id -> pack
  const markDamaged = (pack: string, problem: string, blob?: string) => {
    let d = damaged.get(pack);
    if (!d) damaged.set(pack, (d = { pack, problems: [], affectedFiles: [] }));
    d.problems.push(problem);
    if (blob) damagedBlobs.set(blob, pack);
  };

  // Packs: indexed ones must exist with the indexed size.
  const present = new Map<string, number>();
  for await (const info of repo.backend.list('data')) present.set(info.name, info.size);
  let unindexedPacks = 0;
  for (const name of present.keys()) if (!repo.index.packs.has(name)) unindexedPacks++;
  for (const [pack, { size }] of repo.index.packs) {
    const actual = present.get(pack);
    if (actual === undefined) markDamaged(pack, `pack ${shortId(pack)} is in the index but missing from data/`);
    else if (actual !== size) markDamaged(pack, `pack ${shortId(pack)} has ${actual} bytes, the index says ${size}`);
  }
  for (const d of damaged.values()) {
    for (const loc of repo.index.blobsOf(d.pack)) damagedBlobs.set(loc.id, d.pack);
  }

  // Read data: whole packs, verified in the workers.
  let packsRead = 0;
  let bytesRead = 0;
  const fraction = input.readData ?? 0;
  if (fraction > 0) {
    const candidates = [...repo.index.packs.keys()].filter((p) => present.has(p)).sort();
    const chosen = fraction >= 1 ? candidates : sample(candidates, fraction, input.sampleSeed ?? Date.now());
    const results = await readAndVerifyPacks(repo, chosen, {
      workers: input.workers,
      signal: input.signal,
      onPack: (_pack, bytes) => {
        packsRead++;
        bytesRead += bytes;
        input.onProgress?.({ packsRead, packsToRead: chosen.length, bytesRead });
      },
    });
    for (const result of results) {
      const pack = result.pack;
      if (!result.hashOk) markDamaged(pack, `pack ${shortId(pack)}: content does not match its name (SHA-256 differs): the file was altered`);
      if (result.headerError) {
        markDamaged(pack, `pack ${shortId(pack)}: ${result.headerError}`);
        for (const loc of repo.index.blobsOf(pack)) damagedBlobs.set(loc.id, pack);
        continue;
      }
      for (const d of result.damaged) markDamaged(pack, `pack ${shortId(pack)}: blob ${d.id.slice(0, 12)} ${d.error}`, d.id);
      const inHeader = new Map(result.blobs.map((b) => [b.id, b]));
      for (const loc of repo.index.blobsOf(pack)) {
        const h = inHeader.get(loc.id);
        if (!h || h.offset !== loc.offset || h.length !== loc.length) {
          markDamaged(pack, `pack ${shortId(pack)}: the index places blob ${loc.id.slice(0, 12)} where the pack header does not`, loc.id);
        }
      }
    }
  }

  // Snapshots and trees: every referenced blob indexed; files using damaged blobs named.
  const snapshots: Snapshot[] = [];
  for await (const info of repo.backend.list('snapshots')) {
    try {
      snapshots.push(await repo.loadSnapshot(info.name));
    } catch (e) {
      errors.push(`snapshot ${shortId(info.name)}: ${(e as Error).message}`);
    }
  }
  const treesSeen = new Set<string>();
  const missingReported = new Set<string>();
  const affected = (blob: string, where: string) => {
    const pack = damagedBlobs.get(blob);
    if (pack) damaged.get(pack)?.affectedFiles.push(where);
  };
  async function walk(treeId: string, snap: Snapshot, path: string): Promise<void> {
    const seenBefore = treesSeen.has(treeId);
    treesSeen.add(treeId);
    // A tree seen before is structurally checked already; walk it again only to name damaged files.
    if (seenBefore && damagedBlobs.size === 0) return;
    if (!repo.index.has(treeId)) {
      if (!missingReported.has(treeId)) errors.push(`snapshot ${shortId(snap.id)}: tree ${treeId.slice(0, 12)} at ${path || '/'} is not in the index`);
      missingReported.add(treeId);
      return;
    }
    if (damagedBlobs.has(treeId)) {
      affected(treeId, `${shortId(snap.id)}:${path || '/'} (directory listing)`);
      return;
    }
    let tree;
    try {
      tree = await repo.loadTree(treeId);
    } catch (e) {
      errors.push(`snapshot ${shortId(snap.id)}: tree at ${path || '/'}: ${(e as Error).message}`);
      return;
    }
    for (const node of tree.nodes) {
      const childPath = path === '' ? node.name : `${path}/${node.name}`;
      if (node.type === 'dir' && node.subtree) await walk(node.subtree, snap, childPath);
      for (const id of node.content ?? []) {
        if (!seenBefore && !repo.index.has(id) && !missingReported.has(id)) {
          missingReported.add(id);
          errors.push(`snapshot ${shortId(snap.id)}: ${childPath}: data blob ${id.slice(0, 12)} is not in the index`);
        }
        if (damagedBlobs.has(id)) {
          affected(id, `${shortId(snap.id)}:${childPath}`);
          break;
        }
      }
    }
  }
  for (const snap of snapshots) await walk(snap.tree, snap, '');

  for (const d of damaged.values()) d.affectedFiles = [...new Set(d.affectedFiles)].sort();
  return {
    snapshots: snapshots.length,
    packs: repo.index.packs.size,
    blobs: repo.index.blobCount,
    treesChecked: treesSeen.size,
    packsRead,
    bytesRead,
    unindexedPacks,
    errors,
    damaged: [...damaged.values()],
  };
}

/** Read whole packs and verify them in the workers (hash, header, every blob). */
export async function readAndVerifyPacks(
  repo: Repository,
  packs: readonly string[],
  options: { workers?: number; signal?: AbortSignal; onPack?: (pack: string, bytes: number) => void } = {},
): Promise<VerifyPackResult[]> {
  if (packs.length === 0) return [];
  const pool = new WorkerPool(repo, { workers: options.workers });
  try {
    return await mapLimit(packs, pool.size + 1, async (pack) => {
      if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'verification cancelled');
      const path = localPackPath(repo.backend, pack);
      const fromFile = path === undefined ? undefined : await pool.verifyPackFile(pack, path);
      if (fromFile) {
        options.onPack?.(pack, fromFile.size ?? 0);
        return fromFile;
      }
      // Not local, or the worker could not read it: the backend loads it (and reports why it cannot).
      const data = await repo.backend.load({ kind: 'data', name: pack });
      const size = data.length;
      const result = await pool.verifyPack(pack, data);
      options.onPack?.(pack, size);
      return result;
    });
  } finally {
    await pool.close();
  }
}

/**
 * The rotating slice a backup's verify stage reads: packs are split into
 * ceil(1/fraction) buckets by their id, and run number n reads bucket n mod k,
 * so every pack is read within k runs.
 */
export function rotatingSlice(packs: readonly string[], fraction: number, runNumber: number): { packs: string[]; slice: number; of: number } {
  const of = Math.max(1, Math.ceil(1 / fraction - 1e-9));
  const slice = ((runNumber % of) + of) % of;
  return { packs: packs.filter((p) => parseInt(p.slice(0, 8), 16) % of === slice), slice, of };
}

/** A deterministic pseudo-random subset of about `fraction` of `items` (at least one). */
function sample<T>(items: T[], fraction: number, seed: number): T[] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const want = Math.max(1, Math.round(items.length * fraction));
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, want);
}
