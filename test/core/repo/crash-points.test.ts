/**
 * SIGKILL at every write of a backup and at every write and delete of a prune
 * (issue 14, "crash points by exact backend call"). The operation runs in
 * test/helpers/repo-op-child.ts, whose kill switch (test/helpers/kill-switch.ts)
 * kills the process when the chosen backend call comes, before it does
 * anything. After each kill: `check --read-data` finds no error and no damage,
 * no snapshot is visible that the repository cannot restore, the snapshots
 * that must survive restore byte-identical, and running the same operation
 * again completes and leaves the repository just as whole.
 *
 * The points are not a fixed list: one uninterrupted run of each operation on
 * a copy of its repository counts the calls, and every one of them is a case,
 * so a change in how many packs a backup writes still covers all of them.
 * Each case works on its own copy of a prepared repository.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { checkRepository, type CheckOutcome } from '../../../src/core/repo/checker.js';
import { prune } from '../../../src/core/repo/prune.js';
import type { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import { repoRoot } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { countingBackend, type CallCounts } from '../../helpers/kill-switch.js';
import { backupDir, createRepo, openRepo } from '../../helpers/repo.js';
import { runRepoOp, type BackupOpResult, type PruneOpResult } from '../../helpers/repo-ops.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const KiB = 1024;
const childScript = join(repoRoot, 'test/helpers/repo-op-child.ts');
const tempDir = useTempDirs('crash-points');
/** Chunks of 16–64 KiB in packs of 128 KiB: a few hundred KiB of new data already make several packs. */
const smallPacks = { chunker: { minSize: 16 * KiB, avgSize: 32 * KiB, maxSize: 64 * KiB }, packSize: 128 * KiB };
/**
 * Cases at once. Each mostly waits on its child process and on the worker
 * threads of check and restore; more than this only queues on a 2-core machine.
 */
const PARALLEL_CASES = 3;
const CASE_TIMEOUT_MS = 120_000;

function runChild(args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Run the op with the kill switch at `point`; it must die there. */
async function killedAt(point: string, op: readonly string[]): Promise<void> {
  const out = await runChild(['--kill', point, ...op]);
  expect(out.stdout + out.stderr, `the child must die at ${point}`).toContain(`reached ${point}\n`);
  expect(out.signal).toBe('SIGKILL');
}

/**
 * Run the op to its end in this process (the same code the child runs, lock
 * included: the killed child's lock must not stop it); what it returned and
 * which backend calls it made.
 */
async function completes<T>(name: 'backup' | 'prune', repoDir: string, args: readonly string[]): Promise<{ result: T; calls: CallCounts }> {
  const calls: CallCounts = {};
  const result = (await runRepoOp(countingBackend(new LocalBackend(repoDir), calls), name, args)) as T;
  return { result, calls };
}

/** A fresh copy of a prepared repository, so cases never see each other's crashes. */
async function copyOf(template: string): Promise<string> {
  const dir = join(await tempDir(), 'repo');
  await cp(template, dir, { recursive: true });
  return dir;
}

/** `check --read-data`: every pack read in full, no error, no damage. */
async function expectCheckClean(repo: Repository): Promise<CheckOutcome> {
  const check = await checkRepository({ repo, readData: 1, workers: 1 });
  expect(check.errors).toEqual([]);
  expect(check.damaged).toEqual([]);
  expect(check.packsRead).toBe(check.packs);
  return check;
}

async function expectRestores(repo: Repository, snapshot: Snapshot, manifest: Manifest): Promise<void> {
  const target = join(await tempDir(), 'restore');
  const restored = await restoreSnapshot({ repo, snapshot, target, workers: 1 });
  expect(restored.failed, `restore of ${snapshot.id.slice(0, 8)}`).toEqual([]);
  expectSameManifest(await manifestOf(join(target, 'data')), manifest);
  await rm(target, { recursive: true });
}

async function snapshotById(repo: Repository, id: string): Promise<Snapshot> {
  const found = (await repo.listSnapshots()).find((s) => s.id === id);
  expect(found, `snapshot ${id.slice(0, 8)} is listed`).toBeDefined();
  return found!;
}

/** Runs at most `n` of the functions given to it at once. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running < n) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // a finishing one hands over its place
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
const slot = limiter(PARALLEL_CASES);

/** `save:data:1` … `save:data:n` for the n counted, in call order. */
function everyCall(calls: CallCounts, key: string): string[] {
  return Array.from({ length: calls[key] ?? 0 }, (_, i) => `${key}:${i + 1}`);
}

// --- fixtures --------------------------------------------------------------
// Built before the cases are declared (top-level await): the cases are the calls a run makes.

interface BackupFixture {
  template: string;
  src: string;
  first: Snapshot;
  firstManifest: Manifest;
  /** The source as the killed backup (and its re-run) sees it. */
  secondManifest: Manifest;
  calls: CallCounts;
}

/** A repository with one complete snapshot, and a source with new data enough for several data packs. */
async function prepareBackup(): Promise<BackupFixture> {
  const base = await tempDir();
  const template = join(base, 'template');
  const src = join(base, 'src');
  await mkdir(join(src, 'early'), { recursive: true });
  for (let i = 0; i < 3; i++) await writeFile(join(src, 'early', `file-${i}.bin`), randomBytes(60 * KiB + i));
  await writeFile(join(src, 'notes.txt'), 'first\n');
  const repo = await createRepo(template, smallPacks);
  const first = (await backupDir(repo, src, { workers: 1 })).snapshot;
  const firstManifest = await manifestOf(src);

  await mkdir(join(src, 'bulk', 'deep'), { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(join(src, i % 2 ? 'bulk/deep' : 'bulk', `part-${i}.bin`), randomBytes(80 * KiB + i * 7 * KiB));
  await writeFile(join(src, 'notes.txt'), 'second\n');
  const secondManifest = await manifestOf(src);

  const counted = await completes('backup', await copyOf(template), [src]);
  return { template, src, first, firstManifest, secondManifest, calls: counted.calls };
}

interface PruneFixture {
  template: string;
  /** Oldest first, with the source as it was when each was taken. */
  snapshots: { id: string; manifest: Manifest }[];
  keepLast: number;
  /** Index files before the prune: it replaces every one. */
  indexFiles: number;
  calls: CallCounts;
  outcome: PruneOpResult['prune'];
}

/**
 * Four snapshots of a changing folder. Keeping the last two forgets the first
 * two: the packs holding only their files go whole, and the packs that also
 * hold something the kept ones use (a small file stored next to a big
 * forgotten one, a folder listing that did not change) are repacked.
 */
async function preparePrune(): Promise<PruneFixture> {
  const base = await tempDir();
  const template = join(base, 'template');
  const src = join(base, 'src');
  await mkdir(join(src, 'docs'), { recursive: true });
  await writeFile(join(src, 'docs', 'readme.txt'), 'in every snapshot, unchanged\n');
  const steps: (() => Promise<void>)[] = [
    async () => {
      await writeFile(join(src, 'a-keep.bin'), randomBytes(40 * KiB));
      await writeFile(join(src, 'b-gone.bin'), randomBytes(200 * KiB));
    },
    async () => {
      await rm(join(src, 'b-gone.bin'));
      await writeFile(join(src, 'c-gone.bin'), randomBytes(130 * KiB));
    },
    async () => {
      await rm(join(src, 'c-gone.bin'));
      await writeFile(join(src, 'd-kept.bin'), randomBytes(150 * KiB));
    },
    async () => {
      await writeFile(join(src, 'e-kept.bin'), randomBytes(100 * KiB));
    },
  ];
  const repo = await createRepo(template, smallPacks);
  const snapshots: PruneFixture['snapshots'] = [];
  let parent: Snapshot | undefined;
  for (const [i, step] of steps.entries()) {
    await step();
    await writeFile(join(src, 'notes.txt'), `step ${i}\n`);
    // Distinct times a second apart: retention orders by time, and the snapshot list must not depend on ties.
    parent = (await backupDir(repo, src, { parent, workers: 1, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).snapshot;
    snapshots.push({ id: parent.id, manifest: await manifestOf(src) });
  }
  const keepLast = 2;
  const counted = await completes<PruneOpResult>('prune', await copyOf(template), [String(keepLast)]);
  const indexFiles = (await readdir(join(template, 'index'))).filter((n) => !n.startsWith('.')).length;
  return { template, snapshots, keepLast, indexFiles, calls: counted.calls, outcome: counted.result.prune };
}

const [backup, pruning] = await Promise.all([prepareBackup(), preparePrune()]);

// --- backup ----------------------------------------------------------------

const backupPoints = [...everyCall(backup.calls, 'save:data'), 'save:index:1', 'save:snapshots:1'];

describe('SIGKILL at each write of a backup', () => {
  it('the uninterrupted backup writes several data packs, then one index, then one snapshot', () => {
    expect(backup.calls['save:data']).toBeGreaterThanOrEqual(4);
    expect(backup.calls['save:index']).toBe(1);
    expect(backup.calls['save:snapshots']).toBe(1);
  });

  it.concurrent.each(backupPoints)(
    'killed at %s: check clean, only the earlier snapshot visible and identical; the next backup completes',
    (point) =>
      slot(async () => {
        const dir = await copyOf(backup.template);
        await killedAt(point, ['backup', dir, backup.src]);

        const repo = await openRepo(dir);
        await expectCheckClean(repo);
        // No snapshot from the killed run: one would point at data the index may not have.
        expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([backup.first.id]);
        await expectRestores(repo, backup.first, backup.firstManifest);

        const next = (await completes<BackupOpResult>('backup', dir, [backup.src])).result;
        expect(next.fileErrors).toEqual([]);
        const after = await openRepo(dir);
        // The packs the killed run completed are indexed now (the backup recovered them).
        expect((await expectCheckClean(after)).unindexedPacks).toBe(0);
        expect((await after.listSnapshots()).map((s) => s.id)).toEqual([backup.first.id, next.snapshot]);
        await expectRestores(after, backup.first, backup.firstManifest);
        await expectRestores(after, await snapshotById(after, next.snapshot), backup.secondManifest);
      }),
    CASE_TIMEOUT_MS,
  );
});

// --- prune -----------------------------------------------------------------

const prunePoints = [
  ...everyCall(pruning.calls, 'remove:snapshots'),
  ...everyCall(pruning.calls, 'save:data'),
  ...everyCall(pruning.calls, 'save:index'),
  ...everyCall(pruning.calls, 'remove:index'),
  ...everyCall(pruning.calls, 'remove:data'),
];

describe('SIGKILL at each write and delete of a prune', () => {
  const all = pruning.snapshots.map((s) => s.id);
  const kept = pruning.snapshots.slice(-pruning.keepLast);

  it('the uninterrupted prune forgets two snapshots, deletes whole packs, repacks others and replaces every index', () => {
    expect(pruning.calls['remove:snapshots']).toBe(pruning.snapshots.length - pruning.keepLast);
    expect(pruning.outcome.packsDeleted).toBeGreaterThan(0);
    expect(pruning.outcome.packsRepacked).toBeGreaterThan(0);
    expect(pruning.calls['save:data']).toBeGreaterThan(0);
    expect(pruning.calls['save:index']).toBe(1);
    expect(pruning.calls['remove:index']).toBe(pruning.indexFiles);
    expect(pruning.indexFiles).toBeGreaterThan(1);
    expect(pruning.outcome.orphansDeleted).toBe(0);
    expect(pruning.calls['remove:data']).toBe(pruning.outcome.packsDeleted + pruning.outcome.packsRepacked);
  });

  it.concurrent.each(prunePoints)(
    'killed at %s: check clean, kept snapshots identical; prune again completes',
    (point) =>
      slot(async () => {
        const dir = await copyOf(pruning.template);
        await killedAt(point, ['prune', dir, String(pruning.keepLast)]);

        const repo = await openRepo(dir);
        await expectCheckClean(repo);
        const listed = (await repo.listSnapshots()).map((s) => s.id);
        for (const id of listed) expect(all, `snapshot ${id.slice(0, 8)} was never made`).toContain(id);
        for (const { id, manifest } of kept) await expectRestores(repo, await snapshotById(repo, id), manifest);

        await completes('prune', dir, [String(pruning.keepLast)]);
        const after = await openRepo(dir);
        await expectCheckClean(after);
        expect((await after.listSnapshots()).map((s) => s.id)).toEqual(kept.map((s) => s.id));
        for (const { id, manifest } of kept) await expectRestores(after, await snapshotById(after, id), manifest);
        // The second run finished the job: no indexed pack is left to delete or repack.
        const left = await prune(after, { dryRun: true });
        expect({ deleted: left.packsDeleted, repacked: left.packsRepacked }).toEqual({ deleted: 0, repacked: 0 });
      }),
    CASE_TIMEOUT_MS,
  );
});
