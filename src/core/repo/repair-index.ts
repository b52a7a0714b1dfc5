/**
 * Rebuild the index from the packs themselves (`lifeboat repair-index`), for
 * when index files are lost, damaged or replaced. Every pack's header is
 * authenticated and lists its blobs, so the index can always be recomputed
 * from data/ alone. Run under an exclusive repository lock.
 *
 * Crash-safe: the new index files are written before any old one is removed,
 * so a kill leaves duplicate entries (harmless; any copy may be read), never a
 * pack without an index entry that was indexed before.
 */
import { LifeboatError } from '../errors.js';
import { MasterIndex, saveIndexFile, type IndexedPack } from './master-index.js';
import { mapLimit, type Repository } from './repository.js';
import { shortId } from './snapshot.js';

/** Blob entries per new index file: keeps each file a few MB. */
const ENTRIES_PER_INDEX_FILE = 50_000;

export interface RepairIndexOutcome {
  packs: number;
  /** Packs described by their own header. */
  packsFromHeaders: number;
  /** Packs whose header could not be read but a sound index file still described (kept as it said). */
  packsFromOldIndex: number;
  /** Packs neither their header nor any index file describes: left in data/, not indexed. */
  unreadable: { pack: string; problem: string }[];
  blobs: number;
  indexFilesWritten: number;
  indexFilesRemoved: number;
  /** Index files that were damaged (now replaced). */
  damagedIndexFiles: number;
}

export async function repairIndex(
  repo: Repository,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<RepairIndexOutcome> {
  const present: { name: string; size: number }[] = [];
  for await (const info of repo.backend.list('data')) present.push({ name: info.name, size: info.size });
  present.sort((a, b) => a.name.localeCompare(b.name));

  const rebuilt: IndexedPack[] = [];
  const unreadable: RepairIndexOutcome['unreadable'] = [];
  let fromOldIndex = 0;
  let done = 0;
  await mapLimit(present, 8, async ({ name, size }) => {
    if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'repair-index cancelled');
    const fromHeader = await repo.readOrphanHeader(name, size);
    const known = repo.index.packs.get(name)?.size === size ? repo.index.indexedPack(name) : undefined;
    if (fromHeader) rebuilt.push(fromHeader);
    else if (known) {
      // The index file that lists it authenticated: its entries are as good as the header's (every blob is verified on read).
      rebuilt.push(known);
      fromOldIndex++;
    } else unreadable.push({ pack: name, problem: `pack ${shortId(name)}: its header cannot be read (damaged, or not a pack of this repository) and no index describes it` });
    options.onProgress?.(++done, present.length);
  });
  rebuilt.sort((a, b) => a.id.localeCompare(b.id));

  // New index files first, then the old ones go.
  const old = [...repo.indexFiles];
  const damagedIndexFiles = repo.damagedIndexFiles.length;
  const fresh = new MasterIndex();
  let written = 0;
  let batch: IndexedPack[] = [];
  let entries = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const name = await saveIndexFile(repo.backend, repo.key, batch);
    for (const p of batch) fresh.add(p, name);
    written++;
    batch = [];
    entries = 0;
  };
  for (const pack of rebuilt) {
    batch.push(pack);
    entries += pack.blobs.length;
    if (entries >= ENTRIES_PER_INDEX_FILE) await flush();
  }
  await flush();
  await mapLimit(old, 8, (name) => repo.backend.remove({ kind: 'index', name }));
  repo.index.clear();
  for (const p of fresh.packs.keys()) repo.index.add(fresh.indexedPack(p)!, fresh.packs.get(p)!.indexFile);
  repo.indexFiles.clear();
  repo.unboundIndexFiles.clear();
  for (const info of fresh.packs.values()) {
    if (!info.indexFile) continue;
    repo.indexFiles.add(info.indexFile);
    // A format-1 repository gets format-1 index files (sealed as its key says), which a later migrate re-seals.
    if (!repo.key.bindKinds) repo.unboundIndexFiles.add(info.indexFile);
  }
  repo.damagedIndexFiles.length = 0;
  return {
    packs: present.length,
    packsFromHeaders: rebuilt.length - fromOldIndex,
    packsFromOldIndex: fromOldIndex,
    unreadable: unreadable.sort((a, b) => a.pack.localeCompare(b.pack)),
    blobs: rebuilt.reduce((n, p) => n + p.blobs.length, 0),
    indexFilesWritten: written,
    indexFilesRemoved: old.length,
    damagedIndexFiles,
  };
}
