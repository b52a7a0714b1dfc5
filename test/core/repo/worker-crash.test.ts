/**
 * A repository worker thread that dies (src/core/repo/worker-pool.ts): the
 * job it held fails with INTERNAL naming the crash, every later job fails
 * at once, and the pool still closes — nothing waits forever. The workers
 * are real threads; the test reaches the pool's own Worker objects to kill
 * one, as a crash would.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../../src/core/repo/worker-pool.js';
import { createRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { rejection } from '../backends/contract.js';

const tempDir = useTempDirs('worker-crash');
const MiB = 1024 * 1024;

/** The pool's threads (private: a crash does not ask permission either). */
function workersOf(pool: WorkerPool): Worker[] {
  return (pool as unknown as { slots: { worker: Worker }[] }).slots.map((s) => s.worker);
}

async function setup() {
  const dir = await tempDir();
  const repo = await createRepo(join(dir, 'repo'));
  const file = join(dir, 'big.bin');
  await writeFile(file, randomBytes(16 * MiB));
  return { repo, job: [{ path: file, size: 16 * MiB }] as Parameters<WorkerPool['hash']>[0] };
}

const failure = (p: Promise<unknown>) => rejection(p, 'INTERNAL');

describe('a repository worker thread that dies', () => {
  it('ends without an error event (exit): its job fails instead of hanging, and so does every later one', async () => {
    const { repo, job } = await setup();
    const pool = new WorkerPool(repo, { workers: 1 });
    const running = pool.hash(job);
    // Stopped before it can answer: the job was sent, its worker is gone.
    await workersOf(pool)[0]!.terminate();
    expect((await failure(running)).message).toMatch(/repository worker exited \(code \d+\) with work unfinished/);
    await failure(pool.hash(job));
    await pool.close();
  });

  it('throws an uncaught error: the job sent to it fails naming the error, and so does every later one', async () => {
    const { repo, job } = await setup();
    const pool = new WorkerPool(repo, { workers: 1 });
    // A credit message without its buffer makes the worker throw outside any job (an uncaught rejection).
    workersOf(pool)[0]!.postMessage({ type: 'packSaved', buffer: undefined });
    expect((await failure(pool.hash(job))).message).toMatch(/repository worker crashed: /);
    await failure(pool.flush());
    await pool.close();
  });
});
