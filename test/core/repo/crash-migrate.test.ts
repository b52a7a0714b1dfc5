/**
 * SIGKILL at each step of `migrate` and of `repair-index` (issue 14, "Must
 * show"). The operation runs in test/helpers/repo-op-child.ts behind the kill
 * switch (test/helpers/kill-switch.ts), exactly as crash-points.test.ts runs
 * backup and prune: one uninterrupted run on a copy of the prepared
 * repository counts every save and remove it makes, and each of those calls
 * is a case, on its own copy.
 *
 * migrate, killed anywhere: the repository opens (format 1 or 2),
 * `check --read-data` finds no error and no damage, every snapshot is still
 * there and restores byte-identical (matched by time: migrate renames them),
 * and migrate run again finishes: format 2, check clean, one bound snapshot
 * per backup with its parent renamed, one bound key file, everything restores.
 *
 * repair-index, killed anywhere: no pack is gone and every snapshot's data is
 * still there (each restores identically, through the packs' own headers where
 * the index does not list them yet); repair-index run again finishes, after
 * which check is clean and every snapshot restores through the index.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { checkRepository, type CheckOutcome } from '../../../src/core/repo/checker.js';
import type { MigrateOutcome } from '../../../src/core/repo/migrate.js';
import type { RepairIndexOutcome } from '../../../src/core/repo/repair-index.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { shortId, type Snapshot } from '../../../src/core/repo/snapshot.js';
import { repoRoot } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { countingBackend, type CallCounts } from '../../helpers/kill-switch.js';
import { TEST_PASSWORD, backupDir, createRepo, openRepo, testScrypt } from '../../helpers/repo.js';
import { runRepoOp } from '../../helpers/repo-ops.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const KiB = 1024;
const childScript = join(repoRoot, 'test/helpers/repo-op-child.ts');
const tempDir = useTempDirs('crash-migrate');
/** Chunks of 16–64 KiB in packs of 128 KiB: a few hundred KiB make several packs. */
const smallPacks = { chunker: { minSize: 16 * KiB, avgSize: 32 * KiB, maxSize: 64 * KiB }, packSize: 128 * KiB };
/** Cases at once: each mostly waits on its child and on worker threads; more only queues on 2 cores. */
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

/** Run the op to its end in this process (the child's code, lock included); what it returned and the backend calls it made. */
async function completes<T>(name: 'migrate' | 'repair-index', repoDir: string): Promise<{ result: T; calls: CallCounts }> {
  const calls: CallCounts = {};
  const result = (await runRepoOp(countingBackend(new LocalBackend(repoDir), calls), name, [])) as T;
  return { result, calls };
}

async function copyOf(template: string): Promise<string> {
  const dir = join(await tempDir(), 'repo');
  await cp(template, dir, { recursive: true });
  return dir;
}

/** Files of a repository folder (no temp files). */
async function filesIn(dir: string, sub: string): Promise<string[]> {
  return (await readdir(join(dir, sub), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

async function expectRestores(repo: Repository, snapshot: Snapshot, manifest: Manifest): Promise<void> {
  const target = join(await tempDir(), 'restore');
  const restored = await restoreSnapshot({ repo, snapshot, target, workers: 1 });
  expect(restored.failed, `restore of ${shortId(snapshot.id)} (${snapshot.time})`).toEqual([]);
  expectSameManifest(await manifestOf(join(target, 'data')), manifest);
  await rm(target, { recursive: true });
}

/** Runs at most `n` of the functions given to it at once. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running < n) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
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

/** `save:index:1` … `save:index:n` for the n counted. */
function everyCall(calls: CallCounts, key: string): string[] {
  return Array.from({ length: calls[key] ?? 0 }, (_, i) => `${key}:${i + 1}`);
}

/** Every call a run made, as kill points, in the order of `first` and then any other kind the count shows. */
function allPoints(calls: CallCounts, first: readonly string[]): string[] {
  const keys = [...first.filter((k) => k in calls), ...Object.keys(calls).filter((k) => !first.includes(k)).sort()];
  return keys.flatMap((k) => everyCall(calls, k));
}

/** One backup of the fixtures: when, what the source was, and the time of the backup it named as parent. */
interface Taken {
  time: string;
  manifest: Manifest;
  parentTime?: string;
}

/** A series of backups of a changing folder, a second apart, each the parent of the next. */
async function takeBackups(repo: Repository, src: string, steps: readonly (() => Promise<void>)[], afterEach?: () => Promise<void>): Promise<Taken[]> {
  const taken: Taken[] = [];
  let parent: Snapshot | undefined;
  for (const [i, step] of steps.entries()) {
    await step();
    await writeFile(join(src, 'notes.txt'), `step ${i}\n`);
    const snap = (await backupDir(repo, src, { parent, workers: 1, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).snapshot;
    taken.push({ time: snap.time, manifest: await manifestOf(src), parentTime: parent?.time });
    parent = snap;
    await afterEach?.();
  }
  return taken;
}

/** Every backup is listed (at least once), nothing else is, and each listed snapshot restores as its backup's source was. */
async function expectEveryBackupRestores(repo: Repository, taken: readonly Taken[]): Promise<Snapshot[]> {
  const listed = await repo.listSnapshots();
  expect([...new Set(listed.map((s) => s.time))].sort()).toEqual(taken.map((t) => t.time).sort());
  for (const snap of listed) await expectRestores(repo, snap, taken.find((t) => t.time === snap.time)!.manifest);
  return listed;
}

// --- fixtures ----------------------------------------------------------------

interface MigrateFixture {
  template: string;
  taken: Taken[];
  /** Index files of the format-1 repository. */
  indexFiles: number;
  /** Packs an interrupted backup left unindexed. */
  orphans: string[];
  calls: CallCounts;
  outcome: MigrateOutcome;
}

/**
 * A format-1 repository: three backups, each the parent of the next (three
 * index files), and the packs of a fourth backup that was interrupted before
 * its index file (no index, no snapshot).
 */
async function prepareMigrate(): Promise<MigrateFixture> {
  const base = await tempDir();
  const template = join(base, 'template');
  const src = join(base, 'src');
  await mkdir(join(src, 'docs'), { recursive: true });
  await writeFile(join(src, 'docs', 'readme.txt'), 'in every snapshot, unchanged\n');
  const repo = await Repository.init(new LocalBackend(template), TEST_PASSWORD, { ...smallPacks, scrypt: testScrypt, version: 1 });
  const taken = await takeBackups(repo, src, [
    async () => {
      await writeFile(join(src, 'a.bin'), randomBytes(150 * KiB));
    },
    async () => {
      await writeFile(join(src, 'docs', 'b.bin'), randomBytes(90 * KiB));
    },
    async () => {
      await rm(join(src, 'a.bin'));
      await writeFile(join(src, 'c.bin'), randomBytes(60 * KiB));
    },
  ]);
  const indexBefore = await filesIn(template, 'index');
  const snapshotsBefore = await filesIn(template, 'snapshots');
  const dataBefore = await filesIn(template, 'data');
  await writeFile(join(src, 'd.bin'), randomBytes(100 * KiB));
  await backupDir(await openRepo(template), src, { workers: 1 });
  for (const n of await filesIn(template, 'index')) if (!indexBefore.includes(n)) await rm(join(template, 'index', n));
  for (const n of await filesIn(template, 'snapshots')) if (!snapshotsBefore.includes(n)) await rm(join(template, 'snapshots', n));
  const orphans = (await filesIn(template, 'data')).filter((n) => !dataBefore.includes(n));

  const counted = await completes<MigrateOutcome>('migrate', await copyOf(template));
  return { template, taken, indexFiles: indexBefore.length, orphans, calls: counted.calls, outcome: counted.result };
}

interface RepairFixture {
  template: string;
  taken: Taken[];
  /** Every pack in data/. */
  packs: string[];
  /** The index files present before the repair (the damaged one included). */
  indexFiles: string[];
  damagedIndexFile: string;
  calls: CallCounts;
  outcome: RepairIndexOutcome;
}

/**
 * A format-2 repository of four backups (four index files), one index file
 * deleted and one overwritten with another index file's bytes: the packs of
 * two backups are in no index that loads.
 */
async function prepareRepair(): Promise<RepairFixture> {
  const base = await tempDir();
  const template = join(base, 'template');
  const src = join(base, 'src');
  await mkdir(join(src, 'docs'), { recursive: true });
  await writeFile(join(src, 'docs', 'readme.txt'), 'in every snapshot, unchanged\n');
  const repo = await createRepo(template, smallPacks);
  const steps = ['a', 'b', 'c', 'd'].map((name, i) => async () => {
    await writeFile(join(src, `${name}.bin`), randomBytes((60 + 30 * i) * KiB));
  });
  const indexAfter: string[][] = [];
  const taken = await takeBackups(repo, src, steps, async () => void indexAfter.push(await filesIn(template, 'index')));
  // The index file each backup wrote.
  const byStep = indexAfter.map((files, i) => files.filter((f) => !(indexAfter[i - 1] ?? []).includes(f)));
  expect(byStep.every((files) => files.length === 1)).toBe(true);
  const [lost, damaged, source] = [byStep[1]![0]!, byStep[2]![0]!, byStep[3]![0]!];
  await rm(join(template, 'index', lost));
  await writeFile(join(template, 'index', damaged), await readFile(join(template, 'index', source)));

  const counted = await completes<RepairIndexOutcome>('repair-index', await copyOf(template));
  return {
    template,
    taken,
    packs: await filesIn(template, 'data'),
    indexFiles: await filesIn(template, 'index'),
    damagedIndexFile: damaged,
    calls: counted.calls,
    outcome: counted.result,
  };
}

const [migrating, repairing] = await Promise.all([prepareMigrate(), prepareRepair()]);

// --- migrate -------------------------------------------------------------------

/** After a kill: opens, check --read-data without error or damage, every backup still there and identical. */
async function expectWholeAfterKill(dir: string, taken: readonly Taken[]): Promise<{ repo: Repository; check: CheckOutcome }> {
  const repo = await openRepo(dir);
  expect([1, 2]).toContain(repo.version);
  const check = await checkRepository({ repo, readData: 1, workers: 1 });
  const listed = await repo.listSnapshots();
  // An interrupted migrate may leave a snapshot's format-1 file beside its bound copy: a warning, never an error.
  expect(check.errors).toEqual([]);
  expect(check.damaged).toEqual([]);
  expect(check.packsRead).toBe(check.packs);
  // No backup stored more than twice (its format-1 file and its bound copy).
  for (const t of taken) expect(listed.filter((s) => s.time === t.time).length).toBeLessThanOrEqual(2);
  if (repo.version === 2) expect(repo.unboundSnapshots.size).toBe(0);
  await expectEveryBackupRestores(repo, taken);
  return { repo, check };
}

/** After migrate has finished: format 2 in every part, check clean, one bound snapshot per backup, parents renamed. */
async function expectMigrated(dir: string, fixture: MigrateFixture): Promise<void> {
  const repo = await openRepo(dir);
  expect(repo.version).toBe(2);
  expect(repo.config.legacyPacks).toBe(true);
  const check = await checkRepository({ repo, readData: 1, workers: 1 });
  expect(check.errors).toEqual([]);
  expect(check.damaged).toEqual([]);
  expect(check.warnings).toEqual([]);
  expect(check.unindexedPacks).toBe(0);
  expect(repo.unboundIndexFiles.size).toBe(0);
  // Every pack, the interrupted backup's included, is indexed as legacy (none was written after the switch).
  expect([...repo.index.packs.values()].every((p) => p.legacy === true)).toBe(true);
  for (const pack of fixture.orphans) expect(repo.index.packs.has(pack), `orphan ${shortId(pack)} indexed`).toBe(true);

  const listed = await expectEveryBackupRestores(repo, fixture.taken);
  expect(listed.map((s) => s.time)).toEqual(fixture.taken.map((t) => t.time));
  expect(repo.unboundSnapshots.size).toBe(0);
  const idAt = new Map(listed.map((s) => [s.time, s.id]));
  for (const [i, t] of fixture.taken.entries()) expect(listed[i]!.parent, `parent of the backup of ${t.time}`).toBe(t.parentTime ? idAt.get(t.parentTime) : undefined);

  // One key file for the password, bound to this repository and format 2.
  expect(await filesIn(dir, 'keys')).toEqual([repo.keyFile]);
  expect(repo.keyBinding).toEqual({ version: 2, repository: repo.config.id });
}

const migratePoints = allPoints(migrating.calls, [
  'save:locks',
  'save:index',
  'remove:index',
  'save:snapshots',
  'remove:snapshots',
  'save:config',
  'save:keys',
  'remove:keys',
  'remove:locks',
]);

describe('SIGKILL at each write and delete of a migrate', () => {
  it('the uninterrupted migrate indexes the orphans, re-seals every index file and snapshot, switches the config, then replaces the key file', async () => {
    const n = migrating.taken.length;
    expect(migrating.orphans.length).toBeGreaterThan(0);
    expect(migrating.indexFiles).toBe(3);
    expect(migrating.outcome).toMatchObject({ fromVersion: 1, toVersion: 2, orphansIndexed: migrating.orphans.length, indexFilesResealed: 4, keyFileReplaced: true });
    expect(migrating.outcome.snapshots).toHaveLength(n);
    expect(migrating.calls).toEqual({
      'save:locks': 1,
      'save:index': 2, // the orphans' (format 1), then the bound copy of all
      'remove:index': migrating.indexFiles + 1,
      'save:snapshots': n,
      'remove:snapshots': n,
      'save:config': 1,
      'save:keys': 1,
      'remove:keys': 1,
      'remove:locks': 1,
    });
    const dir = await copyOf(migrating.template);
    await completes('migrate', dir);
    await expectMigrated(dir, migrating);
  }, CASE_TIMEOUT_MS);

  it.concurrent.each(migratePoints)(
    'killed at %s: opens, check clean, every backup restores; migrate again finishes',
    (point) =>
      slot(async () => {
        const dir = await copyOf(migrating.template);
        await killedAt(point, ['migrate', dir]);
        await expectWholeAfterKill(dir, migrating.taken);

        const again = (await completes<MigrateOutcome>('migrate', dir)).result;
        expect(again.toVersion).toBe(2);
        await expectMigrated(dir, migrating);
      }),
    CASE_TIMEOUT_MS,
  );

  it('killed between a snapshot\'s bound copy and the removal of its format-1 file: check warns (run migrate again), no error', async () => {
    const dir = await copyOf(migrating.template);
    await killedAt('remove:snapshots:1', ['migrate', dir]);
    const repo = await openRepo(dir);
    const check = await checkRepository({ repo });
    expect(check.errors).toEqual([]);
    expect(check.warnings.join('\n')).toMatch(/a migrate was interrupted; run `lifeboat migrate [^`]+` again/);
  }, CASE_TIMEOUT_MS);
});

// --- repair-index ----------------------------------------------------------------

/**
 * The repository with every pack in data/ that no index lists read from its
 * own header, in memory only: what the data still holds whether or not the
 * index says so (prune builds the same view).
 */
async function withHeadersIndexed(dir: string): Promise<Repository> {
  const repo = await openRepo(dir);
  for await (const info of repo.backend.list('data')) {
    if (repo.index.packs.has(info.name)) continue;
    const pack = await repo.readOrphanHeader(info.name, info.size);
    expect(pack, `the header of unindexed pack ${shortId(info.name)} reads`).toBeDefined();
    repo.index.add(pack!);
  }
  return repo;
}

const repairPoints = allPoints(repairing.calls, ['save:locks', 'save:index', 'remove:index', 'remove:locks']);

describe('SIGKILL at each write and delete of a repair-index', () => {
  it('the repository to repair has a lost and a damaged index file: check names both problems', async () => {
    const repo = await openRepo(await copyOf(repairing.template));
    const check = await checkRepository({ repo });
    expect(check.errors.some((e) => e.startsWith(`index file ${repairing.damagedIndexFile.slice(0, 12)}`))).toBe(true);
    expect(check.errors.some((e) => /are not in the index/.test(e))).toBe(true);
    expect(check.unindexedPacks).toBeGreaterThan(0);
  });

  it('the uninterrupted repair reads every header, writes one index, removes every old one (the damaged one counted)', async () => {
    expect(repairing.outcome).toMatchObject({
      packs: repairing.packs.length,
      packsFromHeaders: repairing.packs.length,
      packsFromOldIndex: 0,
      unreadable: [],
      indexFilesWritten: 1,
      indexFilesRemoved: repairing.indexFiles.length,
      damagedIndexFiles: 1,
    });
    expect(repairing.calls).toEqual({ 'save:locks': 1, 'save:index': 1, 'remove:index': repairing.indexFiles.length, 'remove:locks': 1 });
  });

  it.concurrent.each(repairPoints)(
    'killed at %s: no pack lost, every backup restores from the packs; repair-index again finishes, check clean',
    (point) =>
      slot(async () => {
        const dir = await copyOf(repairing.template);
        await killedAt(point, ['repair-index', dir]);

        expect(await filesIn(dir, 'data')).toEqual(repairing.packs);
        const repo = await openRepo(dir);
        const check = await checkRepository({ repo, readData: 1, workers: 1 });
        expect(check.damaged).toEqual([]);
        // What may still be wrong is what the repair is there for: the damaged index file, blobs no index lists.
        const damagedPrefix = `index file ${repairing.damagedIndexFile.slice(0, 12)}`;
        expect(check.errors.filter((e) => !e.startsWith(damagedPrefix) && !/not in the index/.test(e))).toEqual([]);
        await expectEveryBackupRestores(await withHeadersIndexed(dir), repairing.taken);

        await completes('repair-index', dir);
        const after = await openRepo(dir);
        const clean = await checkRepository({ repo: after, readData: 1, workers: 1 });
        expect(clean.errors).toEqual([]);
        expect(clean.damaged).toEqual([]);
        expect(clean.warnings).toEqual([]);
        expect(clean.unindexedPacks).toBe(0);
        expect(clean.packsRead).toBe(repairing.packs.length);
        expect(await filesIn(dir, 'index')).toHaveLength(1);
        const listed = await expectEveryBackupRestores(after, repairing.taken);
        expect(listed).toHaveLength(repairing.taken.length);
      }),
    CASE_TIMEOUT_MS,
  );
});
