/**
 * The verify stage's rotating slice (issue 5, deliver 7): with
 * `verify: { readData: 50% }` two consecutive runs read disjoint, non-empty
 * slices of the packs that together cover every pack, and the third run starts
 * the rotation over. Read from the `verify` stage counters of the run records.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultStoreLimits, openJsonStore, type RunRecord } from '../../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { packsIn, runsOf, stageOf, writeRandomFiles } from '../../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../../helpers/pipeline-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pipeline-verify');
const MiB = 1024 * 1024;

let base: string;
let repo: string;
let runbook: string;
let home: string;
let env: Record<string, string>;

async function backup(): Promise<RunRecord> {
  const res = await runCli(['backup', runbook], { env });
  expect(res.code, res.stdout + res.stderr).toBe(0);
  const [run] = await runsOf(home, 'sliced');
  expect(run!.status).toBe('succeeded');
  return run!;
}

function verifyCounters(run: RunRecord): Record<string, number> {
  const stage = stageOf(run, 'verify')!;
  expect(stage.status).toBe('succeeded');
  return stage.counters;
}

/**
 * Which half a pack falls in, by the rule the verify stage documents for the
 * slices (the first 32 bits of its id modulo the number of slices).
 */
const sliceOf = (pack: string, slices: number) => parseInt(pack.slice(0, 8), 16) % slices;

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  repo = join(base, 'repo');
  home = join(base, 'home');
  await mkdir(join(base, 'src'));
  // ~96 MiB of random data: several data packs plus a tree pack.
  await writeRandomFiles(join(base, 'src'), 12, 8 * MiB);
  runbook = writePipelineRunbook(base, 'sliced', { repo, sources: [{ name: 'data', path: 'src' }], verify: { readData: '50%' } });
  env = pipelineEnv(home);
  const init = await runCli(['init', runbook], { env });
  expect(init.code, init.stderr).toBe(0);
});

describe('verify.readData: 50%', () => {
  it('reads disjoint, non-empty halves in two consecutive runs that together cover every pack, then starts over', async () => {
    await backup();
    // Pack ids are random: in the rare case one half is empty, add data until both have packs.
    for (let extra = 0; ; extra++) {
      const packs = [...(await packsIn(repo)).keys()];
      if (new Set(packs.map((p) => sliceOf(p, 2))).size === 2) break;
      expect(extra, 'could not get packs into both halves').toBeLessThan(5);
      await writeRandomFiles(join(base, 'src'), 1, 8 * MiB, `extra-${extra}-`);
      await backup();
    }
    const packs = await packsIn(repo);
    const totalBytes = [...packs.values()].reduce((a, b) => a + b, 0);

    // Nothing changes in the source, so these runs write no packs: the set they slice stays the same.
    const a = verifyCounters(await backup());
    const b = verifyCounters(await backup());
    const c = verifyCounters(await backup());
    expect(await packsIn(repo)).toEqual(packs);

    expect([a.slices, b.slices, c.slices]).toEqual([2, 2, 2]);
    expect([a.slice, b.slice].sort()).toEqual([0, 1]);
    expect(a.packsRead).toBeGreaterThan(0);
    expect(b.packsRead).toBeGreaterThan(0);
    // Disjoint and covering: the two halves add up to every pack, by count and by bytes.
    expect(a.packsRead! + b.packsRead!).toBe(packs.size);
    expect(a.bytesRead! + b.bytesRead!).toBe(totalBytes);
    for (const run of [a, b]) {
      const half = [...packs].filter(([id]) => sliceOf(id, 2) === run.slice);
      expect(run.packsRead).toBe(half.length);
      expect(run.bytesRead).toBe(half.reduce((n, [, size]) => n + size, 0));
    }
    // ceil(100/50) = 2 runs cover everything; the third reads the first half again.
    expect(c.slice).toBe(a.slice);
    expect([c.packsRead, c.bytesRead]).toEqual([a.packsRead, a.bytesRead]);
    expect(a.problems).toBe(0);
    expect(b.problems).toBe(0);
  });

  it('keeps rotating once the run history is at the store\'s cap of runs per runbook', async () => {
    // A runbook backed up hourly for ~8 days has as many runs as the store keeps;
    // seed that history (older than the real runs above) instead of waiting for it.
    const store = await openJsonStore(home);
    try {
      const cap = defaultStoreLimits.runsPerRunbook;
      for (let i = 0; i < cap; i++) {
        const startedAt = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000);
        await store.putRun({
          id: `seeded-${String(i).padStart(4, '0')}`,
          runbook: 'sliced',
          kind: 'backup',
          status: 'succeeded',
          startedAt: startedAt.toISOString(),
          endedAt: new Date(startedAt.getTime() + 60_000).toISOString(),
          durationMs: 60_000,
          actor: { face: 'scheduler', user: 'scheduler' },
          host: 'seeded',
          pid: 1,
          stages: [],
        });
      }
      expect(await store.listRuns({ runbook: 'sliced', limit: 10_000 })).toHaveLength(cap);
    } finally {
      await store.close();
    }
    const a = verifyCounters(await backup());
    const b = verifyCounters(await backup());
    // Consecutive runs must still read different halves, or half the packs are never read again.
    expect([a.slice, b.slice].sort(), `slices read: ${a.slice} then ${b.slice}`).toEqual([0, 1]);
  });
});
