/**
 * Keep an S3 Object Lock repository's kept backups locked: push the
 * retain-until date of every object a kept snapshot needs (its snapshot file,
 * its packs, the index files that list them, the key files and the config)
 * forward to now + days, where it would end within `withinMs`. Nothing else is
 * touched, so what only forgotten snapshots used runs out of retention and a
 * later prune can delete it.
 *
 * Of the index files that list a used pack, only the newest that covers it is
 * kept locked: after a prune has written one index for everything that stays,
 * the older files it replaced run out instead of living on (and holding their
 * packs back, see locked-prune.ts).
 *
 * Every step is one idempotent PutObjectRetention, so a run that is killed
 * leaves some objects extended and the next run does the rest.
 */
import type { Handle } from '../backends/backend.js';
import type { ObjectLockBackend } from '../backends/object-lock-backend.js';
import { retainUntil, type LockSettings } from '../backends/object-lock.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { decodeIndex } from './master-index.js';
import { usedBlobs } from './prune.js';
import { mapLimit, type Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';

export interface RetentionExtensionInput {
  repo: Repository;
  lock: ObjectLockBackend;
  settings: LockSettings;
  /** The snapshots whose objects stay locked. */
  keep: readonly Snapshot[];
  now: Date;
  /** Extend a retention that ends before now + withinMs. */
  withinMs: number;
  signal?: AbortSignal;
}

export interface RetentionExtension {
  snapshotsKept: number;
  /** Objects whose retention was looked at (all that kept snapshots need). */
  objects: number;
  /** Of those, how many were extended; the rest ended late enough already. */
  extended: number;
  /** The retain-until date extended objects now have (ISO 8601). */
  until: string;
  /** Blobs kept snapshots use that no index lists (their data cannot be locked; check says more). */
  missingBlobs: number;
}

export async function extendKeptRetention(input: RetentionExtensionInput): Promise<RetentionExtension> {
  const { repo, lock, keep, now } = input;
  const until = retainUntil(input.settings, now);
  const ifBefore = new Date(now.getTime() + input.withinMs);
  const { used, missing } = await usedBlobs(repo, keep);
  const packs = new Set<string>();
  for (const id of used) {
    const pack = repo.index.lookup(id)?.pack;
    if (pack !== undefined) packs.add(pack);
  }
  const handles: Handle[] = [
    ...[...packs].map((name) => ({ kind: 'data' as const, name })),
    ...(await coveringIndexFiles(repo, packs)).map((name) => ({ kind: 'index' as const, name })),
    ...keep.map((s) => ({ kind: 'snapshots' as const, name: s.id })),
    ...(await namesOf(repo, 'keys')).map((name) => ({ kind: 'keys' as const, name })),
    { kind: 'config', name: 'config' },
  ];
  let extended = 0;
  await mapLimit(handles, 8, async (handle) => {
    if (input.signal?.aborted) throw new LifeboatError('CANCELLED', 'maintain cancelled');
    if ((await lock.extendRetention(handle, { mode: input.settings.mode, until }, ifBefore)) === 'extended') extended++;
  });
  return { snapshotsKept: keep.length, objects: handles.length, extended, until: until.toISOString(), missingBlobs: missing.size };
}

/** Newest first, the index files needed so that every pack in `packs` is listed by one (see the file comment). */
async function coveringIndexFiles(repo: Repository, packs: ReadonlySet<string>): Promise<string[]> {
  const files: { name: string; modified: number }[] = [];
  for await (const info of repo.backend.list('index')) files.push({ name: info.name, modified: info.modified?.getTime() ?? 0 });
  files.sort((a, b) => b.modified - a.modified || a.name.localeCompare(b.name));
  const covered = new Set<string>();
  const needed: string[] = [];
  for (const { name } of files) {
    if (covered.size === packs.size) break;
    let listed;
    try {
      listed = decodeIndex(repo.key, await repo.backend.load({ kind: 'index', name }), name).packs;
    } catch (e) {
      if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
      continue; // a damaged index file is no one's record
    }
    const fresh = listed.filter((p) => packs.has(p.id) && !covered.has(p.id));
    if (fresh.length === 0) continue;
    needed.push(name);
    for (const p of fresh) covered.add(p.id);
  }
  return needed;
}

async function namesOf(repo: Repository, kind: 'keys'): Promise<string[]> {
  const names: string[] = [];
  for await (const info of repo.backend.list(kind)) names.push(info.name);
  return names;
}
