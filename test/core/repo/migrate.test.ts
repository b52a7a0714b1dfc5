/**
 * Format 1 → format 2 (issue 14): a repository written by the format-1 code
 * (test/fixtures/repo-v1, see its README.md) still opens, checks, restores and
 * takes backups as format 1; `migrate` upgrades it in place, after which every
 * small object is bound to its kind, the config carries its mac, every
 * snapshot restores exactly as before under its new id, and backup, prune and
 * a second migrate behave. Also through the CLI, and for a format-1
 * repository with an interrupted backup's pack and a second password.
 * (Crash safety of migrate and repair-index: crash-migrate.test.ts.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { openObject, type RepoKeys } from '../../../src/core/repo/binding.js';
import { checkRepository, type CheckOutcome } from '../../../src/core/repo/checker.js';
import { writeKeyFile } from '../../../src/core/repo/keys.js';
import { decodeIndex } from '../../../src/core/repo/master-index.js';
import { migrateRepository, type MigrateOutcome } from '../../../src/core/repo/migrate.js';
import { openBlob } from '../../../src/core/repo/pack.js';
import { prune } from '../../../src/core/repo/prune.js';
import { repairIndex } from '../../../src/core/repo/repair-index.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import { ensureCliBuilt, repoRoot, runCli, writeRunbook } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { countingBackend, type CallCounts } from '../../helpers/kill-switch.js';
import { TEST_PASSWORD, backupDir, openRepo, smallRepo, testScrypt } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const KiB = 1024;
const tempDir = useTempDirs('migrate');
const fixture = join(repoRoot, 'test/fixtures/repo-v1');
const fixtureSource = join(fixture, 'source');
/** The fixture's snapshots (README.md). */
const FIRST = 'b20e963b231578bbb02c2672aa5e06888ae44a6f12fae8fc58f15db46e1c2f85';
const SECOND = '4afd31d226f5cdc17b229489f0fc6f6770060faaca123d3f1028c9be452e3be5';
const FIXTURE_KEY_FILE = '0f750e0c9ca1bb001b6e3305f132f2e6f86fd313fa8acef8f350ca2cca6021ac';
const FORMAT_1_WARNING = /repository format 1/;

/** A copy of the fixture repository to write to. */
async function fixtureCopy(): Promise<string> {
  const dir = join(await tempDir(), 'repo');
  await cp(join(fixture, 'repository'), dir, { recursive: true });
  return dir;
}

async function names(dir: string, sub: string): Promise<string[]> {
  return (await readdir(join(dir, sub), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/**
 * What a checkout of the fixture can promise about its source: paths, types,
 * sizes, contents and link targets (git keeps neither mtimes nor owners).
 */
type Contents = Map<string, { type: string; size?: number; sha256?: string; target?: string }>;
function contentsOf(m: Manifest): Contents {
  return new Map([...m].map(([rel, e]) => [rel, { type: e.type, size: e.type === 'file' ? e.size : undefined, sha256: e.sha256, target: e.target }]));
}
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Restore `snapshot` into a fresh folder; the manifest of what it restored (source `data`). */
async function restored(repo: Repository, snapshot: Snapshot): Promise<Manifest> {
  const target = join(await tempDir(), 'restore');
  const out = await restoreSnapshot({ repo, snapshot, target, workers: 1 });
  expect(out.failed, `restore of ${snapshot.id.slice(0, 8)}`).toEqual([]);
  return manifestOf(join(target, 'data'));
}

async function byId(repo: Repository, id: string): Promise<Snapshot> {
  const found = (await repo.listSnapshots()).find((s) => s.id === id);
  expect(found, `snapshot ${id.slice(0, 8)} is listed`).toBeDefined();
  return found!;
}

async function checkClean(repo: Repository): Promise<CheckOutcome> {
  const check = await checkRepository({ repo, readData: 1, workers: 1 });
  expect(check.errors).toEqual([]);
  expect(check.damaged).toEqual([]);
  expect(check.packsRead).toBe(check.packs);
  return check;
}

/** The keys of a format-2 reader: only objects sealed with their kind open. */
const boundKeys = (repo: Repository): RepoKeys => ({ ...repo.key, bindKinds: true });

/** Every blob of `pack` opens with the associated data of `legacy` (none) or of format 2 (its id), and not the other way. */
async function expectPackSealed(repo: Repository, dir: string, pack: string, how: 'legacy' | 'bound'): Promise<void> {
  const bytes = await readFile(join(dir, 'data', pack.slice(0, 2), pack));
  const blobs = repo.index.blobsOf(pack);
  expect(blobs.length, `pack ${pack.slice(0, 8)} is indexed`).toBeGreaterThan(0);
  for (const b of blobs) {
    const sealed = bytes.subarray(b.offset, b.offset + b.length);
    const asLegacy = openBlob(boundKeys(repo), { ...b, legacy: true }, sealed);
    const asBound = openBlob(boundKeys(repo), { ...b, legacy: false }, sealed);
    expect(typeof asLegacy === 'string', `blob ${b.id.slice(0, 8)} opens without associated data`).toBe(how === 'bound');
    expect(typeof asBound === 'string', `blob ${b.id.slice(0, 8)} opens with lifeboat/blob/<id>`).toBe(how === 'legacy');
  }
}

let firstContents: Contents;
let secondContents: Contents;

beforeAll(async () => {
  secondContents = contentsOf(await manifestOf(fixtureSource));
  // README: the first snapshot had the old hello.txt and no added.txt.
  firstContents = new Map(secondContents);
  firstContents.delete('added.txt');
  const hello = 'hello from format version 1\n';
  firstContents.set('hello.txt', { type: 'file', size: hello.length, sha256: sha256(hello), target: undefined });
});

// --- the committed format-1 repository, as it is ------------------------------

describe('the format-1 fixture (written by the format-1 code)', () => {
  it('opens as format 1; check --read-data has no error and warns that it is format 1; both snapshots restore as the README says', async () => {
    const repo = await openRepo(await fixtureCopy());
    expect(repo.version).toBe(1);
    expect(repo.keyBinding).toBeUndefined();
    const check = await checkClean(repo);
    expect(check).toMatchObject({ snapshots: 2, packs: 5, unindexedPacks: 0 });
    expect(check.warnings.some((w) => FORMAT_1_WARNING.test(w)), check.warnings.join('\n')).toBe(true);

    const snapshots = await repo.listSnapshots();
    expect(snapshots.map((s) => s.id)).toEqual([FIRST, SECOND]);
    expect(snapshots[1]!.parent).toBe(FIRST);
    expect(contentsOf(await restored(repo, snapshots[1]!))).toEqual(secondContents);
    expect(contentsOf(await restored(repo, snapshots[0]!))).toEqual(firstContents);
  });

  it('takes a new backup and stays format 1: the config is untouched and everything the backup writes is unbound', async () => {
    const dir = await fixtureCopy();
    const configBefore = await readFile(join(dir, 'config'));
    const [indexBefore, dataBefore] = [await names(dir, 'index'), await names(dir, 'data')];
    const src = join(await tempDir(), 'src');
    await cp(fixtureSource, src, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(src, 'third.bin'), randomBytes(100 * KiB));
    await writeFile(join(src, 'hello.txt'), 'hello a third time\n');

    const repo = await openRepo(dir);
    const second = await byId(repo, SECOND);
    const out = await backupDir(repo, src, { parent: second, workers: 1 });
    expect(out.fileErrors).toEqual([]);
    expect(out.snapshot.parent).toBe(SECOND);

    expect(await readFile(join(dir, 'config'))).toEqual(configBefore);
    const after = await openRepo(dir);
    expect(after.version).toBe(1);
    // The snapshot file opens with empty associated data, and a format-2 reader would not open it.
    const snapBytes = await readFile(join(dir, 'snapshots', out.snapshot.id));
    expect(openObject(after.key, 'snapshot', snapBytes, 'new snapshot').bound).toBe(false);
    expect(() => openObject(boundKeys(after), 'snapshot', snapBytes, 'new snapshot')).toThrow(/failed authentication/);
    // Its index file and packs likewise.
    const newIndex = (await names(dir, 'index')).filter((n) => !indexBefore.includes(n));
    expect(newIndex).toHaveLength(1);
    expect(decodeIndex(after.key, await readFile(join(dir, 'index', newIndex[0]!)), newIndex[0]!).bound).toBe(false);
    const newPacks = (await names(dir, 'data')).filter((n) => !dataBefore.includes(n));
    expect(newPacks.length).toBeGreaterThan(0);
    for (const pack of newPacks) await expectPackSealed(after, dir, pack, 'legacy');
    expect((await after.listSnapshots()).every((s) => after.unboundSnapshots.has(s.id))).toBe(true);

    await checkClean(after);
    expectSameManifest(await restored(after, await byId(after, out.snapshot.id)), await manifestOf(src));
    expect(contentsOf(await restored(after, await byId(after, SECOND)))).toEqual(secondContents);
  });
});

// --- migrate ----------------------------------------------------------------

describe('migrate of the format-1 fixture', () => {
  let dir: string;
  let outcome: MigrateOutcome;
  /** What each snapshot restored to before the migration (full manifests: mtimes and modes too). */
  const before = new Map<string, Manifest>();
  const newId = (old: string) => outcome.snapshots.find((s) => s.from === old)!.to;

  beforeAll(async () => {
    dir = await fixtureCopy();
    const repo = await openRepo(dir);
    for (const s of await repo.listSnapshots()) before.set(s.id, await restored(repo, s));
    outcome = await migrateRepository(new LocalBackend(dir), TEST_PASSWORD);
  });

  it('reports format 1 → 2, both snapshots renamed, the two index files re-sealed, the five packs kept as legacy, the key file replaced', () => {
    expect(outcome).toMatchObject({ fromVersion: 1, toVersion: 2, orphansIndexed: 0, indexFilesResealed: 2, keyFileReplaced: true, legacyPacks: 5 });
    expect(outcome.snapshots.map((s) => s.from)).toEqual([FIRST, SECOND]);
    for (const { from, to } of outcome.snapshots) expect(to).not.toBe(from);
  });

  it('leaves a format-2 config with its mac, bound index files and snapshots (every pack legacy), and a bound key file in place of the old one', async () => {
    const config = JSON.parse(await readFile(join(dir, 'config'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ version: 2, legacyPacks: true, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const repo = await openRepo(dir); // verifies the mac
    expect(repo.version).toBe(2);
    expect(repo.key.bindKinds).toBe(true);

    const indexFiles = await names(dir, 'index');
    expect(indexFiles).toHaveLength(1);
    for (const name of indexFiles) {
      // With format-2 keys only a file sealed with lifeboat/index opens.
      const decoded = decodeIndex(repo.key, await readFile(join(dir, 'index', name)), name);
      expect(decoded.bound).toBe(true);
      expect(decoded.packs).toHaveLength(5);
      expect(decoded.packs.every((p) => p.legacy === true)).toBe(true);
    }
    expect(repo.unboundIndexFiles.size).toBe(0);
    expect(await names(dir, 'data')).toHaveLength(5);
    for (const pack of await names(dir, 'data')) await expectPackSealed(repo, dir, pack, 'legacy');

    expect(await names(dir, 'snapshots')).toEqual([newId(FIRST), newId(SECOND)].sort());
    for (const id of await names(dir, 'snapshots')) {
      expect(openObject(repo.key, 'snapshot', await readFile(join(dir, 'snapshots', id)), id).bound).toBe(true);
    }
    expect((await repo.listSnapshots()).length).toBe(2);
    expect(repo.unboundSnapshots.size).toBe(0);

    const keys = await names(dir, 'keys');
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toBe(FIXTURE_KEY_FILE);
    expect(repo.keyFile).toBe(keys[0]);
    expect(repo.keyBinding).toEqual({ version: 2, repository: repo.config.id });
    // Same scrypt cost as the key file it replaced.
    expect(JSON.parse(await readFile(join(dir, 'keys', keys[0]!), 'utf8'))).toMatchObject({ N: 1024, r: 8, p: 1 });
  });

  it('check --read-data is clean, without the format-1 warning', async () => {
    const check = await checkClean(await openRepo(dir));
    expect(check.warnings).toEqual([]);
    expect(check).toMatchObject({ snapshots: 2, packs: 5, unindexedPacks: 0 });
  });

  it('every snapshot restores exactly as it did before, under its new id; the parent reference names the new id', async () => {
    const repo = await openRepo(dir);
    for (const [old, manifest] of before) expectSameManifest(await restored(repo, await byId(repo, newId(old))), manifest);
    expect(contentsOf(before.get(SECOND)!)).toEqual(secondContents);
    const second = await byId(repo, newId(SECOND));
    expect(second.parent).toBe(newId(FIRST));
    const first = await byId(repo, newId(FIRST));
    expect(first.parent).toBeUndefined();
    // Nothing else in the record changed.
    const { id: _a, parent: _p, ...rest } = second;
    expect(rest).toMatchObject({ time: '2026-11-02T10:00:00.000Z', runbook: 'test' });
  });

  it('a backup afterwards writes bound packs (not legacy) and a bound snapshot; check stays clean', async () => {
    const src = join(await tempDir(), 'src');
    await cp(fixtureSource, src, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(src, 'after-migrate.bin'), randomBytes(120 * KiB));
    const dataBefore = await names(dir, 'data');
    const repo = await openRepo(dir);
    const out = await backupDir(repo, src, { parent: await byId(repo, newId(SECOND)), workers: 1 });
    expect(out.fileErrors).toEqual([]);

    const after = await openRepo(dir);
    const newPacks = (await names(dir, 'data')).filter((n) => !dataBefore.includes(n));
    expect(newPacks.length).toBeGreaterThan(0);
    for (const pack of newPacks) {
      expect(after.index.packs.get(pack)?.legacy, `pack ${pack.slice(0, 8)}`).toBeUndefined();
      await expectPackSealed(after, dir, pack, 'bound');
    }
    expect(openObject(after.key, 'snapshot', await readFile(join(dir, 'snapshots', out.snapshot.id)), 'new').bound).toBe(true);
    expect((await checkClean(after)).warnings).toEqual([]);
    expectSameManifest(await restored(after, await byId(after, out.snapshot.id)), await manifestOf(src));
  });

  it('forget the oldest snapshot, then prune (repacking every pack with unused blobs): legacy blobs move into bound packs, check is clean, the others restore as before', async () => {
    const repo = await openRepo(dir);
    await repo.removeSnapshot(newId(FIRST));
    // The first snapshot's own blobs share legacy packs with kept ones: repack those (not only the mostly-empty ones).
    const pruned = await prune(repo, { repackBelow: 1 });
    expect(pruned.blobsDropped).toBeGreaterThan(0);
    expect(pruned.packsRepacked).toBeGreaterThan(0);

    const after = await openRepo(dir);
    expect((await checkClean(after)).warnings).toEqual([]);
    expect((await after.listSnapshots()).map((s) => s.id)).not.toContain(newId(FIRST));
    expectSameManifest(await restored(after, await byId(after, newId(SECOND))), before.get(SECOND)!);
    // A repacked pack is written the format-2 way, whatever it was before.
    for (const [pack, info] of after.index.packs) if (!info.legacy) await expectPackSealed(after, dir, pack, 'bound');
  });

  it('migrate again does nothing: no write, no delete', async () => {
    const calls: CallCounts = {};
    const again = await migrateRepository(countingBackend(new LocalBackend(dir), calls), TEST_PASSWORD);
    expect(again).toMatchObject({ fromVersion: 2, toVersion: 2, snapshots: [], indexFilesResealed: 0, keyFileReplaced: false });
    expect(calls).toEqual({});
  });
});

// --- through the CLI --------------------------------------------------------

describe('lifeboat migrate <runbook>', () => {
  it('migrates the fixture (exit 0, a summary naming the renamed snapshots); check --read-data then exits 0; a second migrate has nothing to do', async () => {
    await ensureCliBuilt();
    const base = await tempDir();
    const repoDir = await fixtureCopy();
    const runbook = writeRunbook(base, 'legacy', { source: fixtureSource, repo: repoDir });
    const env = { LIFEBOAT_PASSWORD: TEST_PASSWORD, LIFEBOAT_HOME: join(base, 'home') };

    const migrated = await runCli(['migrate', runbook], { env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/from format 1 to 2/);
    expect(migrated.stdout).toMatch(/2 index file\(s\) and 2 snapshot\(s\) re-sealed, 5 pack\(s\) kept/);
    expect(migrated.stdout).toContain(`snapshot ${FIRST.slice(0, 8)} is now `);
    expect(migrated.stdout).toContain(`snapshot ${SECOND.slice(0, 8)} is now `);

    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout + check.stderr).not.toMatch(/format 1/);
    expect((await openRepo(repoDir)).version).toBe(2);

    const again = await runCli(['migrate', runbook], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already format 2: nothing to do/);
  }, 60_000);
});

// --- a format-1 repository with an interrupted backup and two passwords ------

describe('migrate of a format-1 repository with an unindexed pack and two key files', () => {
  const OTHER_PASSWORD = 'the other password of this repository';

  it('indexes the orphan pack (legacy), keeps both passwords working, and check is clean', async () => {
    const base = await tempDir();
    const dir = join(base, 'repo');
    const src = join(base, 'src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.bin'), randomBytes(200 * KiB));
    await writeFile(join(src, 'sub', 'b.txt'), 'b\n');
    const repo = await Repository.init(new LocalBackend(dir), TEST_PASSWORD, { ...smallRepo, scrypt: testScrypt, version: 1 });
    const first = (await backupDir(repo, src, { workers: 1 })).snapshot;
    const firstManifest = await manifestOf(src);
    await writeKeyFile(repo.backend, OTHER_PASSWORD, repo.key, testScrypt);

    // An interrupted backup: its packs landed, its index file and snapshot did not.
    await writeFile(join(src, 'c.bin'), randomBytes(150 * KiB));
    const [indexBefore, snapsBefore, dataBefore] = [await names(dir, 'index'), await names(dir, 'snapshots'), await names(dir, 'data')];
    const interrupted = await backupDir(await openRepo(dir), src, { parent: first, workers: 1 });
    for (const n of (await names(dir, 'index')).filter((n) => !indexBefore.includes(n))) await rm(join(dir, 'index', n));
    for (const n of (await names(dir, 'snapshots')).filter((n) => !snapsBefore.includes(n))) await rm(join(dir, 'snapshots', n));
    const orphans = (await names(dir, 'data')).filter((n) => !dataBefore.includes(n));
    expect(orphans.length).toBeGreaterThan(0);
    const v1 = await openRepo(dir);
    expect(v1.version).toBe(1);
    expect((await checkRepository({ repo: v1 })).unindexedPacks).toBe(orphans.length);
    expect(await names(dir, 'keys')).toHaveLength(2);

    const outcome = await migrateRepository(new LocalBackend(dir), TEST_PASSWORD);
    expect(outcome).toMatchObject({ fromVersion: 1, toVersion: 2, orphansIndexed: orphans.length, keyFileReplaced: true });
    expect(outcome.snapshots.map((s) => s.from)).toEqual([first.id]);

    // Both passwords open it; the other password's key file is still the format-1 one it was.
    const mine = await openRepo(dir);
    const other = await openRepo(dir, OTHER_PASSWORD);
    expect(mine.version).toBe(2);
    expect(mine.keyBinding).toEqual({ version: 2, repository: mine.config.id });
    expect(other.keyBinding).toBeUndefined();
    expect(other.key.encryption.equals(mine.key.encryption)).toBe(true);
    expect(await names(dir, 'keys')).toHaveLength(2);

    // The orphans' data is indexed as legacy and reads back (the interrupted backup's file content included).
    for (const pack of orphans) {
      expect(mine.index.packs.get(pack)?.legacy, `orphan ${pack.slice(0, 8)}`).toBe(true);
      await expectPackSealed(mine, dir, pack, 'legacy');
      for (const b of mine.index.blobsOf(pack)) await mine.loadBlob(b.id);
    }
    const interruptedTree = await mine.loadTree(interrupted.snapshot.tree);
    expect(interruptedTree.nodes.map((n) => n.name)).toEqual(['data']);

    const check = await checkClean(mine);
    expect(check.warnings).toEqual([]);
    expect(check.unindexedPacks).toBe(0);
    expectSameManifest(await restored(other, await byId(other, outcome.snapshots[0]!.to)), firstManifest);

    // The other password's holder runs migrate too: their key file is bound now, nothing else changes.
    const calls: CallCounts = {};
    const theirs = await migrateRepository(countingBackend(new LocalBackend(dir), calls), OTHER_PASSWORD);
    expect(theirs).toMatchObject({ fromVersion: 2, toVersion: 2, keyFileReplaced: true, snapshots: [] });
    expect(calls).toEqual({ 'save:keys': 1, 'remove:keys': 1 });
    const otherAfter = await openRepo(dir, OTHER_PASSWORD);
    expect(otherAfter.keyBinding).toEqual({ version: 2, repository: mine.config.id });
    expect((await openRepo(dir)).keyBinding).toBeDefined();
    expect(await names(dir, 'keys')).toHaveLength(2);
    await checkClean(otherAfter);
  });
});

// --- repair-index on a migrated repository ------------------------------------

describe('repair-index after a migrate', () => {
  it('rebuilds the index from headers of both kinds: legacy packs stay legacy, new packs bound; check clean, every snapshot restores', async () => {
    const dir = await fixtureCopy();
    await migrateRepository(new LocalBackend(dir), TEST_PASSWORD);
    const src = join(await tempDir(), 'src');
    await cp(fixtureSource, src, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(src, 'new.bin'), randomBytes(90 * KiB));
    const repo = await openRepo(dir);
    const latest = (await backupDir(repo, src, { parent: (await repo.listSnapshots()).at(-1), workers: 1 })).snapshot;
    const indexed = new Map([...(await openRepo(dir)).index.packs].map(([p, i]) => [p, i.legacy === true]));
    expect([...indexed.values()]).toContain(true);
    expect([...indexed.values()]).toContain(false);

    for (const n of await names(dir, 'index')) await rm(join(dir, 'index', n));
    const broken = await openRepo(dir);
    expect(broken.index.packs.size).toBe(0);
    const out = await repairIndex(broken);
    expect(out).toMatchObject({ packs: indexed.size, packsFromHeaders: indexed.size, packsFromOldIndex: 0, unreadable: [], indexFilesWritten: 1, indexFilesRemoved: 0 });

    const after = await openRepo(dir);
    expect(new Map([...after.index.packs].map(([p, i]) => [p, i.legacy === true]))).toEqual(indexed);
    expect((await checkClean(after)).warnings).toEqual([]);
    expectSameManifest(await restored(after, await byId(after, latest.id)), await manifestOf(src));
    const snapshots = await after.listSnapshots();
    expect(snapshots).toHaveLength(3);
    expect(contentsOf(await restored(after, snapshots[0]!))).toEqual(firstContents);
    expect(contentsOf(await restored(after, snapshots[1]!))).toEqual(secondContents);
  });
});

// --- damage stops migrate before it changes anything ----------------------------

describe('migrate of a damaged format-1 repository', () => {
  /** Every file of the repository with its bytes' hash: proof that nothing changed. */
  async function state(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) out.push(`${join(e.parentPath, e.name).slice(dir.length)} ${createHash('sha256').update(await readFile(join(e.parentPath, e.name))).digest('hex')}`);
    }
    return out.sort();
  }

  it.each([
    ['a snapshot file copied under another name', 'snapshots', 'snapshot files'],
    ['an index file copied under another name', 'index', 'index files'],
  ] as const)('%s: migrate refuses, names it, and writes nothing', async (_what, folder, named) => {
    const dir = await fixtureCopy();
    const [one] = await names(dir, folder);
    await cp(join(dir, folder, one!), join(dir, folder, 'f'.repeat(64)));
    const before = await state(dir);
    const err = await migrateRepository(new LocalBackend(dir), TEST_PASSWORD).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe('REPO_CORRUPT');
    expect(err?.message).toContain(`1 ${named}`);
    expect(err?.message).toContain('ffffffff');
    expect(await state(dir)).toEqual(before);
  });
});
