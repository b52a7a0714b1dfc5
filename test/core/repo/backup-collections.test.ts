/**
 * The full collection a backup forces once its workers have ended
 * (src/core/repo/archiver.ts, endWorkers) is for the pack buffers the workers
 * handed back to the main thread and for a staged remote's upload chunks: a
 * backend that takes packs as buffers and a staged one get it; a plain local
 * folder, where the workers wrote each pack to its own file, does not (the
 * main thread held no pack, and the collection was 16-46 ms on the way from
 * the last pack to the index; docs/performance.md, seventh stop).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import { MAIN_THREAD_LOOK_EVERY, MAIN_THREAD_OLD_GROWTH, mainThreadDataFlushed, oldGrowthCollections } from '../../../src/core/repo/release-memory.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { forcedCollectionsDuring } from '../../helpers/forced-collections.js';
import { TEST_PASSWORD, backupDir, createRepo, smallRepo, testScrypt, writeVariedFiles } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('backup-collections');

/** Full collections forced on this thread while `fn` runs (V8's own are not counted). */
const forcedFullCollectionsDuring = (fn: () => Promise<unknown>) => forcedCollectionsDuring(fn, { major: true });

async function source(): Promise<string> {
  const dir = await tempDir();
  const src = join(dir, 'src');
  await mkdir(src);
  // ~1.5 MB of varied bytes: several packs of the small test repository, far below the 128 MiB
  // of saved packs after which the main thread collects fully anyway (mainThreadSavedPack).
  await writeVariedFiles(src, 3, 512 * 1024, 97);
  return src;
}

describe("a backup's last forced collection", () => {
  it('is left out where the workers wrote pack files (a local folder)', async () => {
    const src = await source();
    const repo = await createRepo(join(await tempDir(), 'repo'), smallRepo);
    mainThreadDataFlushed(); // this thread's gc taken before counting (release-memory.ts, collector)
    expect(await forcedFullCollectionsDuring(() => backupDir(repo, src))).toBe(0);
  });

  it('runs where packs came back to the main thread as buffers', async () => {
    const src = await source();
    const repo = await Repository.init(new MemoryBackend(), TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    mainThreadDataFlushed();
    expect(await forcedFullCollectionsDuring(() => backupDir(repo, src))).toBe(1);
  });

  it('runs for a staged remote, whose packs are files in staging', async () => {
    const src = await source();
    const staging = new StagingBackend(new MemoryBackend(), new LocalBackend(join(await tempDir(), 'staging')), { concurrency: 2 });
    const repo = await Repository.init(staging, TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    mainThreadDataFlushed();
    expect(await forcedFullCollectionsDuring(() => backupDir(repo, src))).toBe(1);
    await staging.flush();
  });
});

describe("a backup's main thread while files are stored", () => {
  it('collects fully once its old generation grew 8 MiB, looked at per 256 stored files or listing nodes, not per file', async () => {
    const forcedFullCollectionsIn = (fn: () => unknown) => forcedCollectionsDuring(fn, { major: true });
    mainThreadDataFlushed();
    // The backup's pacer (mainThreadBackupItems) with its parameters, made here: the shared one keeps the baseline
    // that the backups above (and other test files in this process) left behind.
    const mainThreadBackupItems = oldGrowthCollections(MAIN_THREAD_OLD_GROWTH, MAIN_THREAD_LOOK_EVERY);
    // Files stored with nothing piling up: no forced collection (the first look only notes the old generation's size).
    expect(await forcedFullCollectionsIn(() => Array.from({ length: 1024 }, () => mainThreadBackupItems(1)))).toBe(0);
    // ~30 MiB promoted, then garbage (as queued files' jobs and promises once answered): collected once, at the next look.
    const keepThenDrop = (): number => Array.from({ length: 400_000 }, (_, i) => ({ i, s: `file ${i}` })).filter((o) => o.i >= 0).length;
    expect(keepThenDrop()).toBe(400_000);
    expect(await forcedFullCollectionsIn(() => Array.from({ length: 256 }, () => mainThreadBackupItems(1)))).toBe(1);
    // A large folder's listing counts its nodes: one listing is a look.
    expect(keepThenDrop()).toBe(400_000);
    expect(await forcedFullCollectionsIn(() => mainThreadBackupItems(17_878))).toBe(1);
    expect(await forcedFullCollectionsIn(() => Array.from({ length: 1024 }, () => mainThreadBackupItems(1)))).toBe(0);
  });
});
