/**
 * The verify stage's size check of every pack a run wrote (issue 22): the
 * stats overlap (on S3 each is a HEAD, and one after another they were the
 * end of every backup), and what they find is unchanged — a pack cut short
 * and a pack gone are both problems of the run, reported in the order the
 * run wrote them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/core/backends/backend.js';
import { verifyRun } from '../../../src/core/pipeline/verify-stage.js';
import { localPackPath } from '../../../src/core/repo/worker-pool.js';
import { backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('verify-stats');

async function backedUp(): Promise<Awaited<ReturnType<typeof createRepo>>> {
  const base = await tempDir();
  const src = join(base, 'src');
  await mkdir(src);
  // Random bytes do not compress: ~1.2 MB in 256 KiB packs is several packs.
  for (let i = 0; i < 6; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(200 * 1024 + i));
  const repo = await createRepo(join(base, 'repo'), smallRepo);
  await backupDir(repo, src, { runbook: 'statted' });
  return repo;
}

/** Counts the stats in flight at once on the real backend (each held 20 ms so they can meet). */
function countStatsInFlight(backend: Backend): { max: () => number; calls: () => number } {
  const stat = backend.stat.bind(backend);
  let inFlight = 0;
  let max = 0;
  let calls = 0;
  backend.stat = async (handle) => {
    calls++;
    max = Math.max(max, ++inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return await stat(handle);
    } finally {
      inFlight--;
    }
  };
  return { max: () => max, calls: () => calls };
}

describe('the verify stage checks the size of every pack the run wrote', () => {
  it('stats them several at a time, each once', async () => {
    const repo = await backedUp();
    expect(repo.written.length).toBeGreaterThanOrEqual(4);
    const stats = countStatsInFlight(repo.backend);
    const result = await verifyRun(repo, { readDataFraction: 0, runNumber: 0 });
    expect(result.problems).toEqual([]);
    expect(result.packsStatted).toBe(repo.written.length);
    expect(stats.calls()).toBe(repo.written.length);
    expect(stats.max()).toBeGreaterThan(1);
    expect(stats.max()).toBeLessThanOrEqual(16);
  });

  it('reports a pack cut short and a pack gone, in the order they were written', async () => {
    const repo = await backedUp();
    // Not the last pack: that one is also read back as the sample, which would add its own problems.
    const [first, second] = repo.written;
    await truncate(localPackPath(repo.backend, second!.id)!, second!.size - 1);
    await rm(localPackPath(repo.backend, first!.id)!);
    const result = await verifyRun(repo, { readDataFraction: 0, runNumber: 0 });
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]).toMatch(new RegExp(`^pack ${first!.id.slice(0, 12)} written by this run is missing: `));
    expect(result.problems[1]).toBe(`pack ${second!.id.slice(0, 12)} has ${second!.size - 1} bytes in the repository, ${second!.size} were written`);
  });
});
