/**
 * Upgrade a format-1 repository to format 2 in place (`lifeboat migrate`).
 *
 * Format 2 binds every sealed object to its kind (binding.ts), names are
 * checked against content everywhere, and the config carries a mac. The
 * data packs are not rewritten (a cold repository would need a thaw of
 * everything): they keep their format-1 seals and their index entries say so
 * (`legacy`), under the index's own authentication. Only the small objects
 * are re-sealed: index files, snapshots, this password's key file, config.
 *
 * Crash-safe at every step, because a format-1 repository reads both seals
 * (binding.ts, openObject) and the config, written last, is the switch:
 *
 *  1. index every pack no index lists (a format-2 repository reads unindexed
 *     packs only as bound ones);
 *  2. write bound copies of the unbound index files, then remove those;
 *  3. for each unbound snapshot, oldest first: write its bound copy, then
 *     remove it (a copy left by an interrupted run is recognised by content);
 *  4. write a bound key file for this password, then remove the unbound one
 *     that opened (other passwords' key files stay valid as they are);
 *  5. write the format-2 config.
 *
 * Killed anywhere, the repository opens (as format 1 before step 5, format 2
 * after) and restores; running migrate again finishes the job.
 */
import { LifeboatError } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import { nameOf, sealJson, type RepoKeys } from './binding.js';
import { keyFileProblem, writeKeyFile } from './keys.js';
import { decodeIndex, saveIndexFile, type IndexedPack } from './master-index.js';
import { encodeConfig } from './repo-config.js';
import { mapLimit, Repository } from './repository.js';
import { shortId, snapshotContentKey, type Snapshot } from './snapshot.js';

export interface MigrateOutcome {
  fromVersion: number;
  toVersion: number;
  /** Packs that were in no index and were indexed first. */
  orphansIndexed: number;
  indexFilesResealed: number;
  /** Old snapshot id → new one (ids are hashes of the stored bytes, so every snapshot gets a new id). */
  snapshots: { from: string; to: string }[];
  keyFileReplaced: boolean;
  /** Packs kept as they are, marked legacy in the index. */
  legacyPacks: number;
}

export async function migrateRepository(backend: Backend, password: string, options: { signal?: AbortSignal } = {}): Promise<MigrateOutcome> {
  const checkCancelled = () => {
    if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'migrate cancelled');
  };
  let repo = await Repository.open(backend, password);
  const fromVersion = repo.version;
  const outcome: MigrateOutcome = { fromVersion, toVersion: 2, orphansIndexed: 0, indexFilesResealed: 0, snapshots: [], keyFileReplaced: false, legacyPacks: 0 };
  if (fromVersion >= 2) return { ...outcome, toVersion: fromVersion };
  await repo.loadIndex();
  refuseDamage(repo, 'index files', repo.damagedIndexFiles);
  const bound: RepoKeys = { ...repo.key, bindKinds: true };

  // 1. Every pack indexed (the recovered ones go into a format-1 index file, re-sealed in step 2).
  outcome.orphansIndexed = (await repo.recoverOrphanPacks()).packs;
  if (outcome.orphansIndexed > 0) {
    repo = await Repository.open(backend, password);
    await repo.loadIndex();
  }
  outcome.legacyPacks = repo.index.packs.size;

  // 2. Index files: bound copies with every pack marked legacy, then the format-1 files go.
  checkCancelled();
  const unbound = [...repo.unboundIndexFiles];
  const packs: IndexedPack[] = [];
  for (const name of unbound) {
    for (const p of decodeIndex(repo.key, await backend.load({ kind: 'index', name }), name).packs) packs.push({ ...p, legacy: true });
  }
  if (packs.length > 0) await saveIndexFile(backend, bound, packs);
  await mapLimit(unbound, 8, (name) => backend.remove({ kind: 'index', name }));
  outcome.indexFilesResealed = unbound.length;

  // 3. Snapshots, oldest first, so a parent's new id is known when its child is re-sealed.
  const snapshots = await repo.listSnapshots();
  refuseDamage(repo, 'snapshot files', repo.damagedSnapshots);
  const boundByContent = new Map(snapshots.filter((s) => !repo.unboundSnapshots.has(s.id)).map((s) => [snapshotContentKey(s), s.id]));
  const renamed = new Map<string, string>();
  for (const snap of snapshots) {
    if (!repo.unboundSnapshots.has(snap.id)) continue;
    checkCancelled();
    let to = boundByContent.get(snapshotContentKey(snap));
    if (!to) to = await saveBound(backend, bound, snap, renamed);
    renamed.set(snap.id, to);
    outcome.snapshots.push({ from: snap.id, to });
    await repo.removeSnapshot(snap.id);
  }

  // 4. This password's key file, bound to the repository and format 2.
  checkCancelled();
  if (repo.keyFile && !repo.keyBinding) {
    // The same scrypt cost as the file it replaces (tests use a low one; operators may have raised theirs).
    const judged = keyFileProblem(repo.keyFile, await backend.load({ kind: 'keys', name: repo.keyFile }));
    const params = 'file' in judged ? { N: judged.file.N, r: judged.file.r, p: judged.file.p } : undefined;
    await writeKeyFile(backend, password, repo.key, params, { version: 2, repository: repo.config.id });
    await backend.remove({ kind: 'keys', name: repo.keyFile });
    outcome.keyFileReplaced = true;
  }

  // 5. The switch.
  checkCancelled();
  await backend.save({ kind: 'config', name: 'config' }, encodeConfig(repo.key, { ...repo.config, version: 2, legacyPacks: true }));
  return outcome;
}

async function saveBound(backend: Backend, keys: RepoKeys, snap: Snapshot, renamed: ReadonlyMap<string, string>): Promise<string> {
  const { id: _id, ...record } = snap;
  const parent = record.parent ? (renamed.get(record.parent) ?? record.parent) : undefined;
  const bytes = sealJson(keys, 'snapshot', parent ? { ...record, parent } : record);
  const id = nameOf(bytes);
  await backend.save({ kind: 'snapshots', name: id }, bytes);
  return id;
}

function refuseDamage(repo: Repository, what: string, damaged: readonly { name: string; problem: string }[]): void {
  if (damaged.length === 0) return;
  throw new LifeboatError(
    'REPO_CORRUPT',
    `migrate stopped before changing anything more: ${damaged.length} ${what} of the repository at ${repo.backend.location} are damaged (${damaged.map((d) => shortId(d.name)).join(', ')}). ` +
      'Run `lifeboat check`, and `lifeboat repair-index` for index files, then migrate again.',
  );
}
