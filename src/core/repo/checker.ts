/**
 * `check`: is the repository whole, and would a restore work?
 *
 * Structure (always): every indexed pack exists with its indexed size; every
 * snapshot's trees load; every blob they reference is indexed. With read-data:
 * packs are read in full, their SHA-256 compared with their name, their header
 * compared with the index, and every blob decrypted and verified — in workers.
 * A damaged blob is traced back to the snapshots and files that use it.
 */
import { commandHint } from '../command-hint.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { keyFileProblem } from './keys.js';
import { LocalBlobReader } from './local-blob-reader.js';
import { mapLimit, type Repository } from './repository.js';
import { shortId, snapshotContentKey, type Snapshot } from './snapshot.js';
import { assertSafeTree, isSafeName, type Tree } from './tree.js';
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
  /** Snapshots that use blobs no index lists (repair-index rebuilds the index). */
  unindexedSnapshots: string[];
  errors: string[];
  /** Facts that are not damage (a format-1 repository, a key file skipped at open). */
  warnings: string[];
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

  // Key files: each named by its content, with bounded parameters (others' passwords cannot be tried).
  for await (const info of repo.backend.list('keys')) {
    const judged = keyFileProblem(info.name, await repo.backend.load({ kind: 'keys', name: info.name }));
    if ('problem' in judged) errors.push(`key file ${judged.problem}`);
  }
  // Index files: a damaged one was set aside when the index loaded; its packs count as unindexed below.
  for (const d of repo.damagedIndexFiles) errors.push(`index file ${d.name.slice(0, 12)}: ${d.problem}`);

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

  // Read data: whole packs, verified in the workers. The main thread walks the
  // snapshots meanwhile: it sat idle while the workers read (issue 22).
  let packsRead = 0;
  let bytesRead = 0;
  const fraction = input.readData ?? 0;
  let reading: Promise<VerifyPackResult[]> = Promise.resolve([]);
  let workersOnline: Promise<void> = Promise.resolve();
  if (fraction > 0) {
    const candidates = [...repo.index.packs.keys()].filter((p) => present.has(p)).sort();
    const chosen = fraction >= 1 ? candidates : sample(candidates, fraction, input.sampleSeed ?? Date.now());
    ({ results: reading, online: workersOnline } = startReadingPacks(repo, chosen, {
      workers: input.workers,
      signal: input.signal,
      onPack: (_pack, bytes) => {
        packsRead++;
        bytesRead += bytes;
        input.onProgress?.({ packsRead, packsToRead: chosen.length, bytesRead });
      },
    }));
    // Awaited below; until then a rejection must not count as unhandled.
    reading.catch(() => undefined);
  }

  let snapshots: Snapshot[];
  let history: { errors: string[]; warnings: string[] };
  let early: TreeWalk;
  try {
    // Snapshots: every file named by its content and well formed; no two alike; none older than its parent.
    snapshots = await repo.listSnapshots();
    history = snapshotHistoryProblems(snapshots, repo.version < 2 ? repo.unboundSnapshots : undefined, repo.runbook);
    // The walk allocates fast (every listing parsed whole): started while a worker was still starting,
    // it had the main thread's capped young generation doubled or quadrupled in ~1 run of 3 (/usr/share's
    // check: peak RSS 183-193k -> 208-215k KiB). The workers come online in ~30-50 ms; the read, the
    // check's longer part, waits for them anyway.
    await workersOnline;
    early = await walkSnapshots(repo, snapshots, damagedBlobs);
  } catch (e) {
    await reading.catch(() => undefined); // the workers finish (and close) before the error goes up
    throw e;
  }

  const damagedBeforeRead = damagedBlobs.size;
  for (const result of await reading) {
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
  for (const d of repo.damagedSnapshots) errors.push(`snapshot file ${shortId(d.name)}: ${d.problem}`);
  errors.push(...history.errors);
  const historyWarnings = history.warnings;

  // The early walk knew every damaged blob unless the read found new ones; then the
  // trees are walked again as if after the read, so the report is the same as before.
  const walked = damagedBlobs.size === damagedBeforeRead ? early : await walkSnapshots(repo, snapshots, damagedBlobs);
  errors.push(...walked.errors);
  for (const [blob, where] of walked.affected) {
    const pack = damagedBlobs.get(blob);
    if (pack) damaged.get(pack)?.affectedFiles.push(where);
  }
  const { treesSeen, missingReported, unindexedSnapshots } = walked;
  if (missingReported.size > 0) {
    errors.push(
      `${missingReported.size} blob(s) used by snapshot(s) ${unindexedSnapshots.map(shortId).join(', ')} are not in the index: ` +
        `if their packs are present, ${commandHint('repair-index', repo.runbook)} rebuilds the index from the packs' own headers; until then prune refuses to run`,
    );
  }

  for (const d of damaged.values()) d.affectedFiles = [...new Set(d.affectedFiles)].sort();
  const warnings = [...repo.warnings, ...historyWarnings];
  if (repo.version < 2) {
    warnings.push(`repository format 1: its objects are not bound to their kind; ${commandHint('migrate', repo.runbook)} upgrades it to format 2 in place`);
    const damagedNames = new Set(repo.damagedIndexFiles.map((d) => d.name));
    const bound = [...repo.indexFiles].filter((n) => !repo.unboundIndexFiles.has(n) && !damagedNames.has(n));
    if (bound.length > 0) {
      warnings.push(
        `the config says format 1 but ${bound.length} index file(s) are sealed the format-2 way: a migrate that has not finished (run ${commandHint('migrate', repo.runbook)} again), or a format-2 config replaced by someone without the key`,
      );
    }
  }
  return {
    snapshots: snapshots.length,
    packs: repo.index.packs.size,
    blobs: repo.index.blobCount,
    treesChecked: treesSeen.size,
    packsRead,
    bytesRead,
    unindexedPacks,
    unindexedSnapshots,
    errors,
    warnings,
    damaged: [...damaged.values()],
  };
}

interface TreeWalk {
  errors: string[];
  /** [blob, `snapshot:path`]: a file or folder listing that uses a blob damaged when the walk ran. */
  affected: [string, string][];
  treesSeen: Set<string>;
  missingReported: Set<string>;
  unindexedSnapshots: string[];
}

/** Trees: every name one that restore accepts, every referenced blob indexed; files using damaged blobs named. */
async function walkSnapshots(repo: Repository, snapshots: readonly Snapshot[], damagedBlobs: ReadonlyMap<string, string>): Promise<TreeWalk> {
  const errors: string[] = [];
  const affectedList: [string, string][] = [];
  const treesSeen = new Set<string>();
  const missingReported = new Set<string>();
  const unsafeReported = new Set<string>();
  /** Blobs missing from the index below a tree, so every snapshot that shares such a subtree is named. */
  const problemsBelow = new Map<string, number>();
  const affected = (blob: string, where: string) => {
    if (damagedBlobs.has(blob)) affectedList.push([blob, where]);
  };
  // A local repository's listings are read with one pread each from open pack files, not four round
  // trips through the libuv pool: on /usr/share (2,929 folders) those were the check's critical path.
  // Anything it cannot read or check falls back to loadTree, which reports the problem as before.
  const local = LocalBlobReader.for(repo);
  async function walk(treeId: string, snap: Snapshot, path: string): Promise<number> {
    const known = problemsBelow.get(treeId);
    // A tree seen before is checked already; walk it again only to name files in damaged packs.
    if (known !== undefined && damagedBlobs.size === 0) return known;
    treesSeen.add(treeId);
    if (!repo.index.has(treeId)) {
      if (!missingReported.has(treeId)) errors.push(`snapshot ${shortId(snap.id)}: the folder listing (tree ${treeId.slice(0, 12)}) of ${path || '/'} is not in the index`);
      missingReported.add(treeId);
      problemsBelow.set(treeId, 1);
      return 1;
    }
    if (damagedBlobs.has(treeId)) {
      affected(treeId, `${shortId(snap.id)}:${path || '/'} (directory listing)`);
      return known ?? 0;
    }
    let tree;
    try {
      tree = local?.tree(treeId) ?? (await repo.loadTree(treeId));
    } catch (e) {
      if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
      errors.push(`snapshot ${shortId(snap.id)}: tree at ${path || '/'}: ${e.message}`);
      problemsBelow.set(treeId, 1);
      return 1;
    }
    let problems = 0;
    if (!unsafeReported.has(treeId)) for (const problem of treeNodeProblems(tree, path)) errors.push(`snapshot ${shortId(snap.id)}: ${problem}`);
    unsafeReported.add(treeId);
    for (const node of tree.nodes) {
      if (!isSafeName(node.name)) continue; // reported above; never joined into a path
      const childPath = path === '' ? node.name : `${path}/${node.name}`;
      if (node.type === 'dir' && typeof node.subtree === 'string') problems += await walk(node.subtree, snap, childPath);
      for (const id of node.content ?? []) {
        if (!repo.index.has(id)) {
          problems++;
          if (!missingReported.has(id)) errors.push(`snapshot ${shortId(snap.id)}: ${childPath}: data blob ${id.slice(0, 12)} is not in the index`);
          missingReported.add(id);
        }
        if (damagedBlobs.has(id)) {
          affected(id, `${shortId(snap.id)}:${childPath}`);
          break;
        }
      }
    }
    problemsBelow.set(treeId, problems);
    return problems;
  }
  const unindexedSnapshots: string[] = [];
  try {
    for (const snap of snapshots) {
      if ((await walk(snap.tree, snap, '')) > 0) unindexedSnapshots.push(snap.id);
    }
  } finally {
    local?.close();
  }
  return { errors, affected: affectedList, treesSeen, missingReported, unindexedSnapshots };
}

/**
 * Rollback and duplication: two snapshot files with the same record (a copy
 * that kept a valid name cannot be made without the key, but a format-1
 * repository or an interrupted migrate can hold one), and a snapshot whose
 * time is before its parent's (an old record put in a newer one's place).
 */
export function snapshotHistoryProblems(snapshots: readonly Snapshot[], unboundInFormat1?: ReadonlySet<string>, runbook?: string): { errors: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const byContent = new Map<string, string[]>();
  for (const s of snapshots) {
    const key = snapshotContentKey(s);
    byContent.set(key, [...(byContent.get(key) ?? []), s.id]);
  }
  for (const ids of byContent.values()) {
    if (ids.length < 2) continue;
    // In a format-1 repository, one format-1 file and its bound copy is what a migrate stopped between the two leaves.
    const unbound = unboundInFormat1 ? ids.filter((id) => unboundInFormat1.has(id)).length : 0;
    if (ids.length === 2 && unbound === 1) {
      warnings.push(`snapshots ${ids.map(shortId).join(', ')} hold the same record, one sealed the format-1 way: a migrate was interrupted; run ${commandHint('migrate', runbook)} again to finish it`);
    } else {
      problems.push(`snapshots ${ids.map(shortId).join(', ')} hold the same record: one backup stored as ${ids.length} files (retention counts them once)`);
    }
  }
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  for (const s of snapshots) {
    const parent = s.parent ? byId.get(s.parent) : undefined;
    if (parent && Date.parse(s.time) < Date.parse(parent.time)) {
      problems.push(`snapshot ${shortId(s.id)} (${s.time}) is older than its parent ${shortId(parent.id)} (${parent.time}): a record was rolled back or replaced`);
    }
  }
  return { errors: problems, warnings };
}

/**
 * Restore's name rules plus the node shapes it relies on, as problems to
 * report (restore refuses the same trees: assertSafeTree).
 */
function treeNodeProblems(tree: Tree, path: string): string[] {
  const problems: string[] = [];
  try {
    assertSafeTree(tree, path);
  } catch (e) {
    problems.push((e as Error).message.replace(/^refusing to restore/, 'restore would refuse'));
  }
  for (const node of tree.nodes) {
    const where = `${path === '' ? '' : `${path}/`}${String(node.name)}`;
    if (node.type !== 'file' && node.type !== 'dir' && node.type !== 'symlink') problems.push(`${where}: unknown node type ${JSON.stringify(node.type)}`);
    if (node.type === 'dir' && (typeof node.subtree !== 'string' || !/^[0-9a-f]{64}$/.test(node.subtree))) problems.push(`${where}: a folder without a valid subtree id`);
    if (node.type === 'file' && node.content !== undefined && (!Array.isArray(node.content) || node.content.some((id) => typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)))) {
      problems.push(`${where}: a file whose content ids are malformed`);
    }
  }
  return problems;
}

interface ReadPacksOptions {
  workers?: number;
  signal?: AbortSignal;
  onPack?: (pack: string, bytes: number) => void;
}

/** Read whole packs and verify them in the workers (hash, header, every blob). */
export async function readAndVerifyPacks(repo: Repository, packs: readonly string[], options: ReadPacksOptions = {}): Promise<VerifyPackResult[]> {
  return startReadingPacks(repo, packs, options).results;
}

/** readAndVerifyPacks, and when its workers are online (WorkerPool.online) for a caller that works beside them. */
function startReadingPacks(repo: Repository, packs: readonly string[], options: ReadPacksOptions): { online: Promise<void>; results: Promise<VerifyPackResult[]> } {
  if (packs.length === 0) return { online: Promise.resolve(), results: Promise.resolve([]) };
  const pool = new WorkerPool(repo, { workers: options.workers });
  return { online: pool.online, results: verifyPacksWith(pool, repo, packs, options) };
}

async function verifyPacksWith(pool: WorkerPool, repo: Repository, packs: readonly string[], options: ReadPacksOptions): Promise<VerifyPackResult[]> {
  try {
    return await mapLimit(packs, pool.size + 1, async (pack) => {
      if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'verification cancelled');
      const path = localPackPath(repo.backend, pack);
      const legacy = repo.index.packs.get(pack)?.legacy;
      const fromFile = path === undefined ? undefined : await pool.verifyPackFile(pack, path, legacy);
      if (fromFile) {
        options.onPack?.(pack, fromFile.size ?? 0);
        return fromFile;
      }
      // Not local, or the worker could not read it: the backend loads it (and reports why it cannot).
      // Never more than the index says the pack holds (a hostile store could send an endless body).
      const indexed = repo.index.packs.get(pack)?.size;
      const data = await repo.backend.load({ kind: 'data', name: pack }, indexed === undefined ? undefined : { offset: 0, length: indexed });
      const size = data.length;
      const result = await pool.verifyPack(pack, data, legacy);
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
