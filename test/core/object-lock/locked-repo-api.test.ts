/**
 * An Object Lock repository through the real AWS SDK against the Object Lock
 * double (test/helpers/object-lock-s3.ts): what is written is retained, reads
 * survive delete markers and overwrites, prune deletes only what retention
 * has let go and says what waits, maintain extends only what kept snapshots use.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectLockBackend } from '../../../src/core/backends/object-lock-backend.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { prune, usedBlobs } from '../../../src/core/repo/prune.js';
import { describeRetentionWaits } from '../../../src/core/repo/locked-prune.js';
import { extendKeptRetention } from '../../../src/core/repo/retention-extension.js';
import type { FileKind } from '../../../src/core/backends/backend.js';
import { isLifeboatError } from '../../../src/core/errors.js';
import { startObjectLockS3, type ObjectLockS3 } from '../../helpers/object-lock-s3.js';
import { TEST_PASSWORD, backupDir, smallRepo, testScrypt } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const DAY = 24 * 60 * 60 * 1000;
const admin = { accessKeyId: 'ADMIN', secretAccessKey: 'admin-secret' };
let double: ObjectLockS3;
const temp = useTempDirs('lifeboat-object-lock-api-');

beforeAll(async () => {
  double = await startObjectLockS3({ credentials: [admin] });
});
afterAll(async () => {
  await double.close();
});

function lockedBackend(bucket: string, prefix: string, days = 3): ObjectLockBackend {
  return new ObjectLockBackend(
    new S3Backend(`s3://${bucket}/${prefix}`, { endpoint: double.endpoint, pathStyle: true, credentials: admin, objectLock: { mode: 'COMPLIANCE', days }, now: () => double.now() }),
  );
}

async function sourceTree(dir: string, seed: string): Promise<void> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'a.txt'), `alpha ${seed}\n`.repeat(2000));
  await writeFile(join(dir, 'sub', 'b.bin'), Buffer.alloc(40_000, seed));
}

describe('Object Lock repository (API)', () => {
  it('writes every object retained; reads go past delete markers to the locked versions', async () => {
    double.createBucket('api-one', true);
    const repo = await Repository.init(lockedBackend('api-one', 'repo'), TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const src = await temp();
    await sourceTree(src, 'x');
    await backupDir(repo, src);
    const keys = double.keys('api-one').filter((k) => !k.startsWith('repo/locks/'));
    expect(keys.some((k) => k.startsWith('repo/data/'))).toBe(true);
    for (const key of keys) {
      const [version] = double.versions('api-one', key);
      expect(version?.mode, key).toBe('COMPLIANCE');
      expect(version!.retainUntil!.getTime()).toBeGreaterThan(double.now().getTime() + 2.9 * DAY);
    }
    const attacker = new S3Backend('s3://api-one/repo', { endpoint: double.endpoint, pathStyle: true, credentials: admin });
    for (const key of keys) await attacker.remove(handleOf(key));
    for (const key of keys) expect(double.versions('api-one', key)[0]?.deleteMarker, key).toBe(true);
    // A delete marker on the config does not make init write a new repository over the old one.
    await expect(Repository.init(lockedBackend('api-one', 'repo'), TEST_PASSWORD, { scrypt: testScrypt })).rejects.toMatchObject({ code: 'REPO_EXISTS' });

    const reopened = await Repository.open(lockedBackend('api-one', 'repo'), TEST_PASSWORD);
    await reopened.loadIndex();
    const outcome = await checkRepository({ repo: reopened, readData: 1 });
    expect(outcome.errors).toEqual([]);
    expect(outcome.damaged).toEqual([]);
    expect(outcome.snapshots).toBe(1);
  });

  it('init creates a missing bucket with Object Lock, and refuses an existing bucket without it', async () => {
    await Repository.init(lockedBackend('made-by-init', 'repo'), TEST_PASSWORD, { scrypt: testScrypt });
    expect(await new S3Backend('s3://made-by-init/repo', { endpoint: double.endpoint, pathStyle: true, credentials: admin }).objectLockEnabled()).toBe(true);
    double.createBucket('plain', false);
    const error = await Repository.init(lockedBackend('plain', 'repo'), TEST_PASSWORD, { scrypt: testScrypt }).catch((e: unknown) => e);
    expect(isLifeboatError(error, 'USAGE')).toBe(true);
    expect((error as Error).message).toContain('bucket "plain" was made without Object Lock');
  });

  it('prune before retention ends deletes nothing locked; maintain extends only what kept snapshots use; after retention prune deletes', async () => {
    double.createBucket('api-prune', true);
    const backend = lockedBackend('api-prune', 'repo');
    const repo = await Repository.init(backend, TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const oldSrc = await temp();
    const newSrc = await temp();
    await sourceTree(oldSrc, 'o');
    await sourceTree(newSrc, 'n');
    const old = (await backupDir(repo, oldSrc)).snapshot;
    const kept = (await backupDir(repo, newSrc)).snapshot;
    const everything = () => double.keys('api-prune').filter((k) => !k.startsWith('repo/locks/')).map((k) => `${k} ${double.versions('api-prune', k).map((v) => v.versionId).join(',')}`);
    const before = everything();

    // Forget the old snapshot and prune at once: everything is retained, nothing may go.
    const locked = await openLocked('api-prune');
    await locked.removeSnapshot(old.id);
    const early = await prune(locked, { now: double.now() });
    expect(everything()).toEqual(before);
    // The snapshot file is still there, so its packs are still used: only the snapshot waits.
    expect(early.retentionWaits).toMatchObject({ snapshots: 1, packs: 0, indexFiles: 0 });
    expect(early.packsDeleted).toBe(0);
    expect(new Date(early.retentionWaits!.until!).getTime()).toBeGreaterThan(double.now().getTime() + 2.9 * DAY);
    expect(describeRetentionWaits(early.retentionWaits!)).toMatch(/^1 snapshot\(s\) wait for their Object Lock retention to end on 20\d\d-.*; a prune after that deletes them$/);

    // Two and a half days on, maintain (within one day) extends what the kept snapshot needs, and nothing else.
    double.advance(2.5 * DAY);
    const maintainer = await openLocked('api-prune');
    const untilOf = (key: string) => double.versions('api-prune', key)[0]!.retainUntil!.getTime();
    const retention = await extendKeptRetention({ repo: maintainer, lock: maintainer.objectLock!, settings: { mode: 'COMPLIANCE', days: 3 }, keep: [kept], now: double.now(), withinMs: DAY });
    expect(retention.extended).toBe(retention.objects);
    const keptPacks = new Set((await usedBlobs(maintainer, [kept])).used);
    const keptPackKeys = [...keptPacks].map((id) => maintainer.index.lookup(id)!.pack).map((p) => `repo/data/${p.slice(0, 2)}/${p}`);
    for (const key of [...keptPackKeys, `repo/snapshots/${kept.id}`, 'repo/config']) expect(untilOf(key), key).toBeGreaterThan(double.now().getTime() + 2.9 * DAY);
    const oldOnly = double.keys('api-prune').filter((k) => k.startsWith('repo/data/') && !keptPackKeys.includes(k));
    expect(oldOnly.length).toBeGreaterThan(0);
    for (const key of [...oldOnly, `repo/snapshots/${old.id}`]) expect(untilOf(key), key).toBeLessThan(double.now().getTime() + DAY);

    // A day later the old snapshot's objects are out of retention: forget and prune delete them for good; the kept one still checks and restores.
    double.advance(DAY);
    const late = await openLocked('api-prune');
    await late.removeSnapshot(old.id);
    const pruned = await prune(late, { now: double.now() });
    // Prune replaced the index files; the one maintain kept locked for the kept snapshot's packs waits, nothing else does.
    expect(pruned.retentionWaits).toMatchObject({ packs: 0, indexFiles: 1, snapshots: 0 });
    expect(pruned.packsDeleted).toBe(oldOnly.length);
    for (const key of [...oldOnly, `repo/snapshots/${old.id}`]) expect(double.versions('api-prune', key), key).toEqual([]);
    const after = await openLocked('api-prune');
    expect((await after.listSnapshots()).map((s) => s.id)).toEqual([kept.id]);
    const outcome = await checkRepository({ repo: after, readData: 1 });
    expect(outcome.errors).toEqual([]);
    expect(outcome.damaged).toEqual([]);
  });

  it('a pack an undeletable index file still lists is not deleted, even past its own retention', async () => {
    double.createBucket('api-held', true);
    const repo = await Repository.init(lockedBackend('api-held', 'repo'), TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const oldSrc = await temp();
    const newSrc = await temp();
    await sourceTree(oldSrc, 'p');
    await sourceTree(newSrc, 'q');
    const old = (await backupDir(repo, oldSrc)).snapshot;
    await backupDir(repo, newSrc);
    const first = await openLocked('api-held');
    const indexKeys = double.keys('api-held').filter((k) => k.startsWith('repo/index/'));
    const writtenAt = (key: string) => double.versions('api-held', key)[0]!.modified.getTime();
    const oldIndex = indexKeys.sort((x, y) => writtenAt(x) - writtenAt(y))[0]!; // the first backup's
    const oldPacks = [...first.index.packs].filter(([, info]) => `repo/index/${info.indexFile}` === oldIndex).map(([id]) => `repo/data/${id.slice(0, 2)}/${id}`);
    expect(oldPacks.length).toBeGreaterThan(0);
    // Someone kept the old index file locked for long (a maintain that chose it, an operator): it outlives its packs.
    await first.objectLock!.extendRetention(handleOf(oldIndex), { mode: 'COMPLIANCE', until: new Date(double.now().getTime() + 30 * DAY) }, new Date(double.now().getTime() + 30 * DAY));
    double.advance(4 * DAY);
    const late = await openLocked('api-held');
    if ((await late.listSnapshots()).some((s) => s.id === old.id)) await late.removeSnapshot(old.id);
    const pruned = await prune(late, { now: double.now() });
    expect(pruned.retentionWaits?.indexFiles).toBe(1);
    const survivors = oldPacks.filter((k) => double.versions('api-held', k).length > 0);
    expect(pruned.retentionWaits?.packs).toBe(survivors.length);
    // Every pack the surviving index file lists is still there: a backup reading that index finds what it lists.
    expect(survivors.length).toBeGreaterThan(0);
    const again = await openLocked('api-held');
    for (const [pack, info] of again.index.packs) {
      if (`repo/index/${info.indexFile}` === oldIndex) expect(double.versions('api-held', `repo/data/${pack.slice(0, 2)}/${pack}`).length, pack).toBeGreaterThan(0);
    }
  });
});

async function openLocked(bucket: string): Promise<Repository> {
  const backend = lockedBackend(bucket, 'repo');
  const repo = await Repository.open(backend, TEST_PASSWORD);
  repo.objectLock = backend;
  await repo.loadIndex();
  return repo;
}

function handleOf(key: string): { kind: FileKind; name: string } {
  const rest = key.slice('repo/'.length);
  if (rest === 'config') return { kind: 'config', name: 'config' };
  return { kind: rest.split('/')[0] as FileKind, name: rest.split('/').at(-1)! };
}
