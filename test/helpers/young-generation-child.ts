/**
 * The main thread's young generation under capYoungGeneration, in a fresh
 * process (a test runner's own heap has grown already): `node --import tsx
 * test/helpers/young-generation-child.ts <capped|uncapped|spawn> <empty dir>`
 * (spawn: capped; prints how many collections were forced while a pool of
 * three workers was started).
 * Allocates objects that live a little while (so scavenges find survivors and
 * V8 would grow the space), starts a repository worker pool in a new
 * repository and closes it (a new isolate resets V8's growth factor),
 * allocates again, and prints a JSON line: the space's size before, after the
 * first round and at the end.
 */
import { capYoungGeneration, youngGenerationSize } from '../../src/core/repo/release-memory.js';
import { WorkerPool } from '../../src/core/repo/worker-pool.js';
import { forcedCollectionsDuring } from './forced-collections.js';
import { createRepo, smallRepo } from './repo.js';

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'capped' && mode !== 'uncapped' && mode !== 'spawn') || !dir) {
  process.stderr.write('usage: young-generation-child.ts <capped|uncapped|spawn> <empty dir>\n');
  process.exit(2);
}
const CAP = 4 * 1024 * 1024;
const before = youngGenerationSize();
if (mode !== 'uncapped') capYoungGeneration(Math.max(CAP, before));

/** Objects kept for a while in a ring, so each scavenge copies some of them. */
async function churn(): Promise<void> {
  const ring: object[][] = Array.from({ length: 64 }, () => []);
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 20_000; j++) ring[(i * 20_000 + j) % 64]!.push({ i, j, s: `n${j}` });
    ring[i % 64] = [];
    // Let the GC observer run between rounds, as a real run's awaits do.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

await churn();
const afterFirst = youngGenerationSize();
const repo = await createRepo(dir, smallRepo);
if (mode === 'spawn') {
  // With the space at its cap, each worker isolate is preceded by a forced scavenge
  // (release-memory.ts, beforeWorkerIsolate); the JSON line says how many were forced.
  let spawned: WorkerPool | undefined;
  const forced = await forcedCollectionsDuring(() => (spawned = new WorkerPool(repo, { workers: 3 })));
  await spawned!.flush();
  await spawned!.close();
  process.stdout.write(JSON.stringify({ forced, workers: 3, reached: afterFirst >= Math.max(CAP, before) }) + '\n');
  process.exit(0);
}
const pool = new WorkerPool(repo, { workers: 1 });
await pool.flush(); // answered once the worker is up
await pool.close();
await churn();
process.stdout.write(JSON.stringify({ before, afterFirst, end: youngGenerationSize(), cap: Math.max(CAP, before) }) + '\n');
