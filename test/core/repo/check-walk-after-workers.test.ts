/**
 * `check --read-data` walks the snapshots on the main thread while its workers
 * read the packs, but starts the walk only once those workers are online: a
 * starting worker's isolate puts V8's young-generation growth factor back to 2
 * (release-memory.ts), and the walk, which allocates fast, then had the main
 * thread's capped young generation doubled or quadrupled in about one check of
 * /usr/share in three (peak RSS 183-193k -> 208-215k KiB).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { LocalBlobReader } from '../../../src/core/repo/local-blob-reader.js';
import { WorkerPool } from '../../../src/core/repo/worker-pool.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('check-walk-after-workers');

/** Every worker thread the process starts from now on, and whether each is online yet. */
function watchWorkers(): { started: () => number; notOnline: () => number; stop: () => void } {
  const online = new Map<Worker, boolean>();
  const onWorker = (worker: Worker) => {
    online.set(worker, false);
    worker.once('online', () => online.set(worker, true));
  };
  process.on('worker', onWorker);
  return {
    started: () => online.size,
    notOnline: () => [...online.values()].filter((v) => !v).length,
    stop: () => void process.off('worker', onWorker),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('check starts its walk once the workers reading the packs are online', () => {
  it('no worker is still starting when the walk begins', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    for (const dir of ['a', 'a/b', 'c']) {
      await mkdir(join(src, dir), { recursive: true });
      await writeFile(join(src, dir, 'f.txt'), `${dir}\n`.repeat(100));
    }
    const repoDir = join(base, 'repo');
    await backupDir(await createRepo(repoDir, smallRepo), src);
    const repo = await openRepo(repoDir);

    const workers = watchWorkers();
    const startingAtWalk: number[] = [];
    const forRepo = LocalBlobReader.for.bind(LocalBlobReader);
    // The walk opens its listing reader first thing (checker.ts walkSnapshots).
    vi.spyOn(LocalBlobReader, 'for').mockImplementation((r) => {
      startingAtWalk.push(workers.notOnline());
      return forRepo(r);
    });
    try {
      const outcome = await checkRepository({ repo, readData: 1, workers: 2 });
      expect(outcome.errors).toEqual([]);
    } finally {
      workers.stop();
    }
    expect(startingAtWalk).toEqual([0]);
    // The check did start its own workers (a kept idle one may serve one slot).
    expect(workers.started()).toBeGreaterThanOrEqual(1);
  });

  it('a pool is online once every worker it started is', async () => {
    const repoDir = join(await tempDir(), 'repo');
    const repo = await createRepo(repoDir, smallRepo);
    const workers = watchWorkers();
    try {
      const pool = new WorkerPool(repo, { workers: 2 });
      await pool.online;
      expect(workers.notOnline()).toBe(0);
      await pool.close();
    } finally {
      workers.stop();
    }
  });
});
