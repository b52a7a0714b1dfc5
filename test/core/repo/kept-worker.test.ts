/**
 * A process that asked for it (a fleet agent) keeps one idle repository worker
 * between pools (worker-pool.ts, keepIdleRepositoryWorker): the next backup,
 * of another repository with its own key and chunker, runs on the same thread
 * and writes exactly what a fresh worker would — each repository checks clean
 * with every pack read and restores byte-identical; a pool that did not save
 * all its packs does not hand its worker on.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { idleRepositoryWorkerThread, keepIdleRepositoryWorker, WorkerPool } from '../../../src/core/repo/worker-pool.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, smallChunker } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('kept-worker');

async function source(dir: string, seed: string): Promise<string> {
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc', 'app.conf'), `# ${seed}\n`.repeat(200));
  // Larger than one chunk of either chunker below, and the same bytes in both sources: deduplication is per repository.
  await writeFile(join(dir, 'shared.bin'), randomBytes(300 * 1024));
  await writeFile(join(dir, 'own.bin'), randomBytes(90 * 1024));
  return dir;
}

describe('a kept repository worker', () => {
  it('is not kept from a pool whose packs were not all saved; then serves the next backups of other repositories, which check clean and restore identically', async () => {
    const base = await tempDir();
    keepIdleRepositoryWorker();
    const a = await createRepo(join(base, 'repo-a'), { chunker: smallChunker, packSize: 128 * 1024 });
    const b = await createRepo(join(base, 'repo-b'), { chunker: { minSize: 4 * 1024, avgSize: 16 * 1024, maxSize: 128 * 1024 }, packSize: 256 * 1024 });
    const srcA = await source(join(base, 'src-a'), 'a');
    const srcB = await source(join(base, 'src-b'), 'b');

    // Files sent, never flushed (a run that failed mid-way): its worker may hold half a pack, so it ends.
    const unflushed = new WorkerPool(a, { workers: 1 });
    await unflushed.backup([{ path: join(srcA, 'own.bin'), size: 90 * 1024 }]);
    await unflushed.close();
    expect(idleRepositoryWorkerThread()).toBeUndefined();

    const first = await backupDir(a, srcA, { workers: 1 });
    const kept = idleRepositoryWorkerThread();
    expect(kept).toBeGreaterThan(0);
    const second = await backupDir(b, srcB, { workers: 1 });
    // The same thread did B's backup and was kept again, not replaced by a new one.
    expect(idleRepositoryWorkerThread()).toBe(kept);
    const third = await backupDir(a, srcA, { workers: 1, parent: first.snapshot });

    for (const [repo, snapshot, src, out] of [
      [a, third.snapshot, srcA, 'out-a'],
      [b, second.snapshot, srcB, 'out-b'],
    ] as const) {
      const check = await checkRepository({ repo, readData: 1, workers: 1 });
      expect(check.errors).toEqual([]);
      expect(check.damaged).toEqual([]);
      expect(check.packsRead).toBe(check.packs);
      await restoreSnapshot({ repo, snapshot, target: join(base, out) });
      expectSameManifest(await manifestOf(join(base, out, 'data')), await manifestOf(src));
    }
    expect(idleRepositoryWorkerThread()).toBe(kept);
  });
});
