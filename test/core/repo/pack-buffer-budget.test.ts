/**
 * The backup workers' pack buffers come from one pool-wide budget
 * (src/core/repo/pack-buffer-budget.ts, issue 22: peak memory): never more
 * buffers exist than the budget allows, and when the backend stalls the
 * workers stop with every buffer waiting to be saved instead of allocating
 * more. The pool test uses real worker threads and a real local repository;
 * the "slow backend" is an onPack that the test completes by hand.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FinishedPack } from '../../../src/core/repo/pack.js';
import { PackBufferBudget } from '../../../src/core/repo/pack-buffer-budget.js';
import { WorkerPool } from '../../../src/core/repo/worker-pool.js';
import { createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pack-buffer-budget');
const MiB = 1024 * 1024;

/** Resolves once `done()` holds, checking after each turn of the event loop (no timers). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

describe('PackBufferBudget', () => {
  it('grants new buffers up to its limit, then hands saved ones to waiters in order', async () => {
    const budget = new PackBufferBudget(2);
    expect(await budget.acquire()).toBeUndefined();
    expect(await budget.acquire()).toBeUndefined();
    expect(budget.count).toBe(2);
    const got: ArrayBuffer[] = [];
    const first = budget.acquire().then((b) => got.push(b!));
    const second = budget.acquire().then((b) => got.push(b!));
    expect(budget.waiting).toBe(2);
    const a = new ArrayBuffer(8);
    const b = new ArrayBuffer(16);
    budget.release(a);
    budget.release(b);
    await Promise.all([first, second]);
    expect(got).toEqual([a, b]);
    expect(budget.count).toBe(2);
    // A buffer nobody waits for is kept and given out before any new one.
    budget.release(a);
    expect(await budget.acquire()).toBe(a);
    budget.release(a);
    budget.trim();
    expect(budget.count).toBe(1);
    expect(budget.peakCount).toBe(2);
  });

  it('refuses a limit below one', () => {
    expect(() => new PackBufferBudget(0)).toThrow(/at least 1, got 0/);
  });
});

describe('backup workers under a pack buffer budget', () => {
  it('stop with every buffer waiting for a stalled backend, and finish the backup once saves resume', async () => {
    const dir = await tempDir();
    const repo = await createRepo(join(dir, 'repo'), smallRepo);
    const files = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const path = join(dir, `f${i}.bin`);
        await writeFile(path, randomBytes(MiB)); // random: ~4 packs of 256 KiB each per file
        return { path, size: MiB };
      }),
    );
    const received: FinishedPack[] = [];
    const stalled: (() => void)[] = [];
    let stall = true;
    const pool = new WorkerPool(repo, {
      workers: 2,
      packBuffers: 3,
      onPack: async (pack) => {
        received.push(pack);
        if (stall) await new Promise<void>((r) => stalled.push(r));
      },
    });
    try {
      const backups = [pool.backup(files.slice(0, 4)), pool.backup(files.slice(4))];
      // Both workers end up asking for a buffer that does not exist.
      await until(() => pool.packBuffers.waiting === 2);
      expect(received.length).toBe(3);
      expect(pool.packBuffers.count).toBe(3);
      stall = false;
      for (const resume of stalled.splice(0)) resume();
      const results = (await Promise.all(backups)).flat();
      await pool.flush();
      expect(pool.packBuffers.peakCount).toBe(3);
      expect(received.length).toBeGreaterThan(16);
      // Every chunk of every file is in a pack that reached onPack.
      const stored = new Set(received.flatMap((p) => p.blobs.map((b) => b.id)));
      expect(results.every((r) => r.error === undefined && r.size === MiB)).toBe(true);
      for (const id of results.flatMap((r) => r.content)) expect(stored.has(id)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('never has fewer buffers than workers (a waiting worker always gets one from a save)', async () => {
    const dir = await tempDir();
    const repo = await createRepo(join(dir, 'repo'), smallRepo);
    const pool = new WorkerPool(repo, { workers: 2, packBuffers: 1 });
    try {
      expect(pool.packBuffers.limit).toBe(2);
    } finally {
      await pool.close();
    }
  });
});
