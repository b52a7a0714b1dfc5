/**
 * The tier operation at the core, on folder repositories: which snapshots
 * move, a copy that does not verify forgets nothing, and a second run finds
 * nothing left to do.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FaultyBackend } from '../../../src/core/backends/faulty-backend.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { FakeClock } from '../../../src/core/clock.js';
import { Repository } from '../../../src/core/repo/repository.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { selectForTier } from '../../../src/core/tier/select.js';
import { tierSnapshots } from '../../../src/core/tier/tier-snapshots.js';
import { TEST_PASSWORD, backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('tier-core');
const DAY = 24 * 3600 * 1000;

function snap(id: string, time: string, sources = ['data'], runbook = 'app'): Snapshot {
  return {
    id,
    time,
    runbook,
    host: 'h',
    user: 'u',
    tree: 't',
    sources: sources.map((name) => ({ name, kind: 'path' as const, origin: `/${name}` })),
    stats: { files: 0, dirs: 0, bytes: 0, bytesNew: 0, bytesStored: 0, blobsNew: 0 },
  };
}

describe('selectForTier', () => {
  const now = new Date('2026-03-01T00:00:00Z');

  it('moves snapshots older than `after` and keeps the newest of each source set hot', () => {
    const all = [
      snap('a1', '2026-01-01T00:00:00Z'),
      snap('a2', '2026-01-20T00:00:00Z'),
      snap('a3', '2026-02-25T00:00:00Z'),
      // The runbook gained a source: its snapshots form a second set, whose only one is old but newest.
      snap('b1', '2026-01-05T00:00:00Z', ['data', 'db']),
      // Another runbook sharing the repository is never touched.
      snap('x1', '2025-01-01T00:00:00Z', ['data'], 'other'),
    ];
    const sel = selectForTier(all, { runbook: 'app', now, afterMs: 14 * DAY });
    expect(sel.move.map((s) => s.id)).toEqual(['a1', 'a2']);
    expect(sel.keptAsNewest.map((s) => s.id)).toEqual(['b1']);
  });

  it('never moves the newest snapshot, however old', () => {
    const sel = selectForTier([snap('a1', '2025-01-01T00:00:00Z'), snap('a2', '2025-02-01T00:00:00Z')], { runbook: 'app', now, afterMs: DAY });
    expect(sel.move.map((s) => s.id)).toEqual(['a1']);
    expect(sel.keptAsNewest.map((s) => s.id)).toEqual(['a2']);
  });

  it('moves nothing younger than `after`', () => {
    const sel = selectForTier([snap('a1', '2026-02-20T00:00:00Z'), snap('a2', '2026-02-28T00:00:00Z')], { runbook: 'app', now, afterMs: 14 * DAY });
    expect(sel.move).toEqual([]);
  });
});

function runbookFor(hotDir: string, coldDir: string): Runbook {
  return {
    name: 'test',
    file: join(hotDir, 'test.yaml'),
    sources: [],
    hooks: { before: [], after: [] },
    repository: {
      hot: { url: `file://${hotDir}` },
      cold: { url: `file://${coldDir}`, afterMs: 7 * DAY, retrieval: 'Standard', thawDays: 1 },
      password: { kind: 'env', name: 'UNUSED' },
    },
    objectives: { rpoMs: DAY, rtoMs: DAY },
    verify: { readDataFraction: 0 },
    drill: { timeoutMs: DAY },
    alerts: { anomaly: { window: 10, minHistory: 5, threshold: 3 } },
    access: { backup: [], drill: [] },
    transfer: { concurrency: 2 },
  } as Runbook;
}

async function threeSnapshots(hotDir: string, src: string): Promise<Snapshot[]> {
  const hot = await createRepo(hotDir, smallRepo);
  const out: Snapshot[] = [];
  for (const [i, day] of ['2026-01-01', '2026-01-10', '2026-01-20'].entries()) {
    await writeFile(join(src, `f${i}.txt`), `file ${i} `.repeat(5000));
    const parent = out.at(-1);
    out.push((await backupDir(hot, src, { parent, time: new Date(`${day}T00:00:00Z`) })).snapshot);
  }
  return out;
}

describe('tierSnapshots', () => {
  it('forgets nothing in hot when the cold copy does not verify', async () => {
    const [hotDir, coldDir, src] = await Promise.all([tempDir(), tempDir(), tempDir()]);
    const snaps = await threeSnapshots(hotDir, src);
    await createRepo(coldDir, smallRepo);
    // A store that lies: the first cold pack is kept short but the save "succeeds".
    const lying = new FaultyBackend(new LocalBackend(coldDir)).addFault({ op: 'save', kind: 'data', times: 1, action: { type: 'truncate', bytes: 100 } });
    const cold = await Repository.open(lying, TEST_PASSWORD);
    await cold.loadIndex();
    const hot = await openRepo(hotDir);
    const out = await tierSnapshots({
      runbook: runbookFor(hotDir, coldDir),
      clock: new FakeClock('2026-02-01T00:00:00Z'),
      emit: () => undefined,
      hot: { backend: hot.backend, repo: hot },
      cold: { backend: lying, repo: cold },
    });
    expect(out.snapshotsCopied).toBe(2);
    expect(out.problems.join('\n')).toMatch(/has \d+ bytes in .*, its index says \d+/);
    expect(out.snapshotsForgotten).toBe(0);
    expect((await (await openRepo(hotDir)).listSnapshots()).map((s) => s.id)).toEqual(snaps.map((s) => s.id));
  });

  it('a second run has nothing left to do and copies nothing twice', async () => {
    const [hotDir, coldDir, src] = await Promise.all([tempDir(), tempDir(), tempDir()]);
    const snaps = await threeSnapshots(hotDir, src);
    await createRepo(coldDir, smallRepo);
    const run = async () => {
      const hot = await openRepo(hotDir);
      const cold = await openRepo(coldDir);
      return tierSnapshots({
        runbook: runbookFor(hotDir, coldDir),
        clock: new FakeClock('2026-02-01T00:00:00Z'),
        emit: () => undefined,
        hot: { backend: hot.backend, repo: hot },
        cold: { backend: cold.backend, repo: cold },
      });
    };
    const first = await run();
    expect(first.moved.map((m) => m.hot)).toEqual([snaps[0]!.id, snaps[1]!.id]);
    expect(first.snapshotsForgotten).toBe(2);
    const second = await run();
    expect(second.candidates).toEqual([]);
    expect(second.snapshotsCopied).toBe(0);
    expect((await (await openRepo(coldDir)).listSnapshots()).length).toBe(2);
    expect((await (await openRepo(hotDir)).listSnapshots()).map((s) => s.id)).toEqual([snaps[2]!.id]);
  });
});
