/**
 * The forced collections of release-memory.ts (issue 22): they run, and the
 * process's V8 flags are left as they were (no --expose-gc), since a changed
 * flag set makes every worker thread started later compile Node's internal
 * modules from source instead of using the embedded code cache.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  MAIN_THREAD_LOOK_EVERY,
  MAIN_THREAD_OLD_GROWTH,
  RESTORE_PREPARED_COLLECTION_FILES,
  mainThreadDataFlushed,
  oldGrowthCollections,
  restorePrepared,
  restoredBlob,
} from '../../../src/core/repo/release-memory.js';
import { forcedCollectionsDuring } from '../../helpers/forced-collections.js';

describe('forced collections', () => {
  it('collect, and leave --expose-gc off', async () => {
    const forced = await forcedCollectionsDuring(() => {
      mainThreadDataFlushed();
      mainThreadDataFlushed();
    });
    expect(forced).toBe(2);
    // A context made now gets no `gc`: the flag is off again.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  it('a restore worker collects once its old generation grew 4 MiB, not per blob', async () => {
    // Blobs with nothing piling up: no forced collection (the first look only notes the old generation's size).
    expect(await forcedCollectionsDuring(() => Array.from({ length: 128 }, () => restoredBlob(100)))).toBe(0);
    // ~30 MiB of small objects kept through scavenges (promoted, as a job's message is while its blobs are
    // written), then garbage: the next look finds the old generation grown, and collects once.
    const keepThenDrop = (): number => Array.from({ length: 400_000 }, (_, i) => ({ i, s: `blob ${i}` })).filter((o) => o.i >= 0).length;
    expect(keepThenDrop()).toBe(400_000);
    expect(await forcedCollectionsDuring(() => Array.from({ length: 64 }, () => restoredBlob(100)))).toBe(1);
    // Collected: nothing more until it grows again.
    expect(await forcedCollectionsDuring(() => Array.from({ length: 128 }, () => restoredBlob(100)))).toBe(0);
  });

  it('a restore worker scavenges once per 2 MiB of blobs written (their decrypted pieces are garbage by then)', async () => {
    // Under 2 MiB written so far in this file: the first MiB forces nothing, the second one scavenge, a third none.
    expect(await forcedCollectionsDuring(() => restoredBlob(1024 * 1024))).toBe(0);
    expect(await forcedCollectionsDuring(() => restoredBlob(1024 * 1024))).toBe(1);
    expect(await forcedCollectionsDuring(() => restoredBlob(1024 * 1024))).toBe(0);
  });

  it('a restore collects once it prepared a plan of enough files, never for a smaller one', async () => {
    expect(await forcedCollectionsDuring(() => restorePrepared(RESTORE_PREPARED_COLLECTION_FILES - 1), { major: true })).toBe(0);
    expect(await forcedCollectionsDuring(() => restorePrepared(RESTORE_PREPARED_COLLECTION_FILES), { major: true })).toBe(1);
  });

  it("a drill's main thread collects once its old generation grew 8 MiB while files were re-read, not per batch", async () => {
    // The drill's pacer (mainThreadValidatedFiles) with its parameters, made here: the shared one keeps the baseline
    // that any drill run earlier in this process (other test files) left behind.
    const mainThreadValidatedFiles = oldGrowthCollections(MAIN_THREAD_OLD_GROWTH, MAIN_THREAD_LOOK_EVERY);
    // Batches with nothing piling up: no forced collection (the first look only notes the old generation's size).
    expect(await forcedCollectionsDuring(() => Array.from({ length: 16 }, () => mainThreadValidatedFiles(64)))).toBe(0);
    // ~30 MiB promoted, then garbage (as re-read jobs waiting for their answers): collected once, at the next look.
    const keepThenDrop = (): number => Array.from({ length: 400_000 }, (_, i) => ({ i, s: `file ${i}` })).filter((o) => o.i >= 0).length;
    expect(keepThenDrop()).toBe(400_000);
    expect(await forcedCollectionsDuring(() => Array.from({ length: 4 }, () => mainThreadValidatedFiles(64)))).toBe(1);
    expect(await forcedCollectionsDuring(() => Array.from({ length: 16 }, () => mainThreadValidatedFiles(64)))).toBe(0);
  });
});
