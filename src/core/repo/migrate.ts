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
 * (binding.ts, openObject) and the config is the switch:
 *
 *  1. index every pack no index lists (a format-2 repository reads unindexed
 *     packs only as bound ones);
 *  2. write bound copies of the unbound index files, then remove those;
 *  3. write a bound copy of every unbound snapshot (parents first, each
 *     copy's `parent` renamed to the parent's copy), then remove the unbound
 *     files. All copies are written before any original goes, so a run that
 *     is interrupted and started again finds every original it still has to
 *     rename a parent from (a copy left by an interrupted run is recognised
 *     by content);
 *  4. write the format-2 config;
 *  5. write a bound key file for this password, then remove the unbound ones
 *     this password opens (other passwords' key files stay valid as they
 *     are).
 *
 * The key file comes after the config: a key file bound to format 2 next to
 * a format-1 config is what a forged downgrade of the config looks like, and
 * Repository.open refuses it. Written before the switch, it would leave a
 * repository killed between the two (or whose bound key file sorts first)
 * that does not open.
 *
 * Killed anywhere, the repository opens (as format 1 before step 4, format 2
 * after) and restores; running migrate again finishes the job (on a format-2
 * repository it only does step 5, which a migrate killed after the switch may
 * have left undone).
 */
import { commandHint } from '../command-hint.js';
import { LifeboatError } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import { kindAd, nameOf, sealJson, type RepoKeys } from './binding.js';
import { deriveKey, tryOpen, type MasterKey } from './crypto.js';
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
  /** A bound key file now stands for this password, in place of the unbound one(s) it replaced. */
  keyFileReplaced: boolean;
  /** Packs kept as they are, marked legacy in the index. */
  legacyPacks: number;
}

export async function migrateRepository(backend: Backend, password: string, options: { signal?: AbortSignal; runbook?: string } = {}): Promise<MigrateOutcome> {
  const checkCancelled = () => {
    if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'migrate cancelled');
  };
  let repo = await Repository.open(backend, password, { runbook: options.runbook });
  const fromVersion = repo.version;
  const outcome: MigrateOutcome = { fromVersion, toVersion: 2, orphansIndexed: 0, indexFilesResealed: 0, snapshots: [], keyFileReplaced: false, legacyPacks: 0 };
  if (fromVersion >= 2) {
    // Already switched; a run killed between the switch and the key file left this password's key file unbound.
    checkCancelled();
    return { ...outcome, toVersion: fromVersion, keyFileReplaced: await bindKeyFile(repo, password) };
  }
  // Damage stops the migration before it changes anything.
  await repo.loadIndex();
  refuseDamage(repo, 'index files', repo.damagedIndexFiles);
  await repo.listSnapshots();
  refuseDamage(repo, 'snapshot files', repo.damagedSnapshots);
  const bound: RepoKeys = { ...repo.key, bindKinds: true };

  // 1. Every pack indexed (the recovered ones go into a format-1 index file, re-sealed in step 2).
  checkCancelled();
  outcome.orphansIndexed = (await repo.recoverOrphanPacks()).packs;
  if (outcome.orphansIndexed > 0) {
    repo = await Repository.open(backend, password, { runbook: options.runbook });
    await repo.loadIndex();
  }
  outcome.legacyPacks = repo.index.packs.size;

  // 2. Index files: bound copies with every pack marked legacy, then the format-1 files go.
  checkCancelled();
  const unbound = [...repo.unboundIndexFiles].sort();
  const packs = new Map<string, IndexedPack>();
  for (const name of unbound) {
    for (const p of decodeIndex(repo.key, await backend.load({ kind: 'index', name }), name).packs) {
      if (!packs.has(p.id)) packs.set(p.id, { ...p, legacy: true });
    }
  }
  if (packs.size > 0) await saveIndexFile(backend, bound, [...packs.values()]);
  await mapLimit(unbound, 8, (name) => backend.remove({ kind: 'index', name }));
  outcome.indexFilesResealed = unbound.length;

  // 3. Snapshots: every bound copy first (parents before children, so a parent's new id is known), then the originals go.
  const snapshots = await repo.listSnapshots();
  refuseDamage(repo, 'snapshot files', repo.damagedSnapshots);
  const boundByContent = new Map(snapshots.filter((s) => !repo.unboundSnapshots.has(s.id)).map((s) => [snapshotContentKey(s), s.id]));
  const toCopy = new Map(snapshots.filter((s) => repo.unboundSnapshots.has(s.id)).map((s) => [s.id, s]));
  const renamed = new Map<string, string>();
  const copy = async (snap: Snapshot, visiting: Set<string>): Promise<void> => {
    if (renamed.has(snap.id)) return;
    checkCancelled();
    visiting.add(snap.id);
    // A parent newer than its child (clock trouble) is still copied first.
    const parent = snap.parent ? toCopy.get(snap.parent) : undefined;
    if (parent && !visiting.has(parent.id)) await copy(parent, visiting);
    const key = snapshotContentKey(snap);
    let to = boundByContent.get(key);
    if (!to) {
      to = await saveBound(backend, bound, snap, renamed);
      boundByContent.set(key, to);
    }
    renamed.set(snap.id, to);
  };
  for (const snap of toCopy.values()) await copy(snap, new Set());
  for (const snap of toCopy.values()) {
    checkCancelled();
    await repo.removeSnapshot(snap.id);
    outcome.snapshots.push({ from: snap.id, to: renamed.get(snap.id)! });
  }

  // 4. The switch.
  checkCancelled();
  await backend.save({ kind: 'config', name: 'config' }, encodeConfig(repo.key, { ...repo.config, version: 2, legacyPacks: true }));

  // 5. This password's key file, bound to the repository and format 2.
  outcome.keyFileReplaced = await bindKeyFile(await Repository.open(backend, password, { runbook: options.runbook }), password);
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

/**
 * In a format-2 repository: make sure a key file bound to it (format 2, this
 * repository's id) opens with `password`, and remove the unbound key files
 * that this password opens to the same master key (they are what the bound
 * one replaces). Writes nothing when the bound one is there and no unbound
 * one is left; true when it changed anything. Other passwords' key files are
 * not touched (they cannot be opened here, and stay valid as they are).
 */
async function bindKeyFile(repo: Repository, password: string): Promise<boolean> {
  const { backend } = repo;
  const names: string[] = [];
  for await (const info of backend.list('keys')) names.push(info.name);
  let haveBound = false;
  let params: { N: number; r: number; p: number } | undefined;
  const replaced: string[] = [];
  for (const name of names.sort()) {
    const judged = keyFileProblem(name, await backend.load({ kind: 'keys', name }));
    if ('problem' in judged) continue; // check reports it; it is no file of this password's that we could replace
    const { file } = judged;
    let isBound: boolean;
    if (name === repo.keyFile) {
      isBound = repo.keyBinding !== undefined;
    } else {
      // Every other key file costs one scrypt: migrate is rare, and a key file left behind by an interrupted run must be found.
      const kdf = await deriveKey(password, Buffer.from(file.salt, 'base64'), { N: file.N, r: file.r, p: file.p });
      const sealed = Buffer.from(file.data, 'base64');
      const boundInner = tryOpen(kdf, sealed, kindAd('key'));
      const inner = boundInner ?? tryOpen(kdf, sealed);
      if (!inner || !wrapsKey(inner, repo.key)) continue;
      isBound = boundInner !== undefined && isBindingOf(inner, repo);
    }
    if (isBound) haveBound = true;
    else {
      replaced.push(name);
      // The same scrypt cost as the file it replaces (tests use a low one; operators may have raised theirs).
      params ??= { N: file.N, r: file.r, p: file.p };
    }
  }
  if (replaced.length === 0) return false;
  if (!haveBound) await writeKeyFile(backend, password, repo.key, params, { version: repo.version, repository: repo.config.id });
  for (const name of replaced) await backend.remove({ kind: 'keys', name });
  return true;
}

/** A key file's opened content holds exactly this master key. */
function wrapsKey(inner: Buffer, key: MasterKey): boolean {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(inner.toString('utf8')) as Record<string, unknown>;
  } catch {
    return false;
  }
  const same = (field: string, value: Buffer) => typeof parsed[field] === 'string' && Buffer.from(parsed[field], 'base64').equals(value);
  return same('encryption', key.encryption) && same('mac', key.mac) && same('chunkerSeed', key.chunkerSeed);
}

/** A bound key file's content says it belongs to this repository at its format. */
function isBindingOf(inner: Buffer, repo: Repository): boolean {
  const parsed = JSON.parse(inner.toString('utf8')) as { version?: unknown; repository?: unknown };
  return parsed.version === repo.version && parsed.repository === repo.config.id;
}

function refuseDamage(repo: Repository, what: string, damaged: readonly { name: string; problem: string }[]): void {
  if (damaged.length === 0) return;
  throw new LifeboatError(
    'REPO_CORRUPT',
    `migrate stopped before changing anything more: ${damaged.length} ${what} of the repository at ${repo.backend.location} are damaged (${damaged.map((d) => shortId(d.name)).join(', ')}). ` +
      `Run ${commandHint('check', repo.runbook)}, and ${commandHint('repair-index', repo.runbook)} for index files, then migrate again.`,
  );
}
