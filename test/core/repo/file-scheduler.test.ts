/**
 * Backup work is balanced between the workers by weight (bytes, plus ~64 KiB
 * per file), not by job count, and the file scheduler holds batches back
 * while every worker has enough in hand, so which worker gets a file is
 * decided as late as possible (issue 22: the last large files of a run
 * landed on one worker while the other idled).
 */
import { randomBytes } from 'node:crypto';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../../src/core/errors.js';
import { FileScheduler } from '../../../src/core/repo/file-scheduler.js';
import { backupWeight, WorkerPool } from '../../../src/core/repo/worker-pool.js';
import type { BackupFileJob } from '../../../src/core/repo/worker-protocol.js';
import { createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('file-scheduler');
const MiB = 1024 * 1024;

/** A sparse file of `size` bytes (reads as zeros, costs no disk). */
async function sparse(path: string, size: number): Promise<BackupFileJob> {
  await writeFile(path, '');
  await truncate(path, size);
  return { path, size };
}

async function small(path: string): Promise<BackupFileJob> {
  const data = randomBytes(10 * 1024);
  await writeFile(path, data);
  return { path, size: data.length };
}

describe('backup work balancing', () => {
  it('sends a job to the worker with the least weight ahead of it, not the fewest jobs', async () => {
    const dir = await tempDir();
    const repo = await createRepo(join(dir, 'repo'), smallRepo);
    const big = await sparse(join(dir, 'big'), 4 * MiB);
    const a = await small(join(dir, 'a'));
    const b = await small(join(dir, 'b'));
    const pool = new WorkerPool(repo, { workers: 2 });
    try {
      const jobs = [pool.backup([big]), pool.backup([a]), pool.backup([b])];
      // By job count, b would have queued behind the big file (both workers had one job).
      expect(pool.backlogs).toEqual([backupWeight([big]), backupWeight([a]) + backupWeight([b])]);
      const results = (await Promise.all(jobs)).flat();
      expect(results.map((r) => r.size)).toEqual([big.size, a.size, b.size]);
      expect(pool.backlogs).toEqual([0, 0]);
      await pool.flush();
    } finally {
      await pool.close();
    }
  });

  it('holds batches while every worker has 16 MiB in hand, sends them as the workers read on, and rejects the held ones on abort', async () => {
    const dir = await tempDir();
    const repo = await createRepo(join(dir, 'repo'), smallRepo);
    const files = await Promise.all([0, 1, 2, 3].map((i) => sparse(join(dir, `big-${i}`), 20 * MiB)));
    const tiny = await Promise.all([0, 1, 2].map((i) => small(join(dir, `small-${i}`))));
    const pool = new WorkerPool(repo, { workers: 2 });
    try {
      const scheduler = new FileScheduler(pool);
      const done = files.map((f) => scheduler.submit(f));
      // One large file per worker; the other two wait in the scheduler, not in a worker's queue.
      expect(pool.load).toBe(2);
      expect(scheduler.pending).toBe(4);
      done.push(...tiny.map((f) => scheduler.submit(f)));
      const results = await Promise.all(done);
      expect(results.map((r) => r.size)).toEqual([...files, ...tiny].map((f) => f.size));
      expect(results.every((r) => r.error === undefined)).toBe(true);
      // The same (zero) bytes: the same content in every large file.
      for (const r of results.slice(1, 4)) expect(r.content).toEqual(results[0]!.content);
      expect(scheduler.pending).toBe(0);

      const more = files.map((f) => scheduler.submit(f).then(() => 'stored', (e: Error) => e.message));
      expect(pool.load).toBe(2);
      scheduler.abort(new LifeboatError('CANCELLED', 'backup cancelled'));
      // The two sent finish; the two held never reach a worker.
      expect(await Promise.all(more)).toEqual(['stored', 'stored', 'backup cancelled', 'backup cancelled']);
      expect(pool.backlogs).toEqual([0, 0]);
      await pool.flush();
    } finally {
      await pool.close();
    }
  });
});
