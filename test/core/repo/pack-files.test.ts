/**
 * Backup workers write their packs to files as they fill (issue 22: a worker
 * held a whole 17 MiB pack in memory): a local backend hands out temp files in
 * data/ (Backend.newPackFile) and makes each written pack an object with the
 * save's own fsync, rename and folder fsync (savePackFile). What must hold:
 * - a pack written in pieces is the same pack, byte for byte, as one built whole;
 * - a backup stores every pack through savePackFile, leaves no temp file, and
 *   check --read-data and a restore find everything;
 * - a half-written pack file (a process killed while a worker wrote it) is
 *   nothing: not listed, not indexed, check stays clean, the next backup
 *   completes, and the temp-file sweep removes it;
 * - a failed pack write fails the backup as a failed save (not as a file error
 *   that would leave the file out and the run "partial") and writes no snapshot;
 * - a cancelled backup deletes the pack files its workers had begun;
 * - through staging (a remote repository), packs are written into the staging
 *   folder with their room reserved under the staging bound first, so the
 *   bound holds; a bound too small for a pack file per worker and one more
 *   (where a waiting worker could wait for another's half-written pack) keeps
 *   the in-memory path.
 * SIGKILL at each savePackFile is covered by crash-points.test.ts (the kill
 * switch counts it as a save).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import type { Handle, SaveOptions } from '../../../src/core/backends/backend.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { generateMasterKey } from '../../../src/core/repo/crypto.js';
import { PackBuilder, openBlob, packBufferCapacity, parsePackHeader } from '../../../src/core/repo/pack.js';
import type { RepoKeys } from '../../../src/core/repo/binding.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, openRepo, smallRepo, testScrypt, TEST_PASSWORD } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { isLifeboatError } from '../../../src/core/errors.js';

const tempDir = useTempDirs('pack-files');

function createTestKeys(): RepoKeys {
  return { ...generateMasterKey(), bindKinds: true };
}
const KiB = 1024;

/** A local backend that records which way each data pack was saved. */
class RecordingBackend extends LocalBackend {
  readonly packFiles: string[] = [];
  readonly dataSaves: string[] = [];
  override savePackFile(handle: Handle, path: string, options?: SaveOptions): Promise<void> {
    this.packFiles.push(handle.name);
    return super.savePackFile(handle, path, options);
  }
  override save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    if (handle.kind === 'data') this.dataSaves.push(handle.name);
    return super.save(handle, data, options);
  }
}

async function sourceTree(dir: string): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'deep'), { recursive: true });
  for (let i = 0; i < 6; i++) await writeFile(join(src, i % 2 ? 'deep' : '.', `f${i}.bin`), randomBytes(300 * KiB + i * 1000));
  await writeFile(join(src, 'text.txt'), 'lifeboat '.repeat(40_000));
  return src;
}

/** Names in data/ that are not fan-out folders: temp files. */
async function tempFilesIn(repoDir: string): Promise<string[]> {
  return (await readdir(join(repoDir, 'data'))).filter((n) => !/^[0-9a-f]{2}$/.test(n));
}

describe('PackBuilder: a pack taken out in pieces', () => {
  it('is the same pack (id, bytes, blob entries) as one built whole, wherever the pieces are cut', () => {
    const key = createTestKeys();
    const blobs = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? Buffer.from('x'.repeat(5000 + i)) : randomBytes(1000 + i * 97)));
    const capacity = packBufferCapacity(64 * KiB, 16 * KiB);
    const whole = new PackBuilder(key, 3, capacity);
    for (const [i, b] of blobs.entries()) whole.add('data', i.toString(16).padStart(64, '0'), b);
    const expected = whole.finish()!;
    for (const every of [1, 2, 7, 1000]) {
      const streamed = new PackBuilder(key, 3, capacity, { fullSize: true });
      const pieces: Buffer[] = [];
      for (const [i, b] of blobs.entries()) {
        expect(streamed.add('data', i.toString(16).padStart(64, '0'), b)).toBeDefined();
        if (i % every === every - 1) pieces.push(Buffer.from(streamed.takeBuffered()));
      }
      const end = streamed.finishStreamed()!;
      const bytes = Buffer.concat([...pieces, end.tail]);
      // Nonces are random, so the bytes differ from the whole pack's; the layout may not.
      expect(end.size).toBe(bytes.length);
      expect(bytes.length).toBe(expected.bytes.length);
      expect(end.blobs).toEqual(expected.blobs);
      expect(end.id).toBe(createHash('sha256').update(bytes).digest('hex'));
      const header = parsePackHeader(key, end.id, bytes, bytes.length);
      expect(header.map(({ id, offset, length }) => ({ id, offset, length }))).toEqual(end.blobs.map(({ id, offset, length }) => ({ id, offset, length })));
      for (const [i, loc] of header.entries()) {
        const opened = openBlob(key, loc, bytes.subarray(loc.offset, loc.offset + loc.length), undefined, false);
        expect(Buffer.isBuffer(opened) && opened.equals(blobs[i]!), `blob ${i}`).toBe(true);
      }
      // The builder is ready for the next pack, from offset 0, with no piece of the last one.
      expect(streamed.byteSize).toBe(0);
      streamed.add('data', 'f'.repeat(64), blobs[0]!);
      expect(streamed.finishStreamed()!.blobs[0]!.offset).toBe(0);
    }
  });

  it('refuses to finish whole a pack whose bytes were taken out', () => {
    const builder = new PackBuilder(createTestKeys(), 3, packBufferCapacity(64 * KiB, 16 * KiB));
    builder.add('data', 'a'.repeat(64), randomBytes(100));
    builder.takeBuffered();
    expect(() => builder.finish()).toThrow(/finishStreamed/);
  });
});

describe('backup workers writing pack files (local backend)', () => {
  it('save every data pack through savePackFile, leave no temp file, and the repository checks and restores', async () => {
    const dir = await tempDir();
    const src = await sourceTree(dir);
    const repoDir = join(dir, 'repo');
    await createRepo(repoDir, smallRepo);
    const backend = new RecordingBackend(repoDir);
    const repo = await Repository.open(backend, TEST_PASSWORD);
    await repo.loadIndex();
    const { snapshot } = await backupDir(repo, src);
    // 1.8 MB of random data in 256 KiB packs: several packs per worker, each written as it filled.
    expect(backend.packFiles.length).toBeGreaterThanOrEqual(6);
    // Only the main thread's tree pack(s) went through save.
    for (const name of backend.dataSaves) {
      const blobs = await repo.readPackHeader(name, (await stat(join(repoDir, 'data', name.slice(0, 2), name))).size);
      expect(blobs.every((b) => b.type === 'tree')).toBe(true);
    }
    expect(await tempFilesIn(repoDir)).toEqual([]);
    for (const name of backend.packFiles) expect((await stat(join(repoDir, 'data', name.slice(0, 2), name))).mode & 0o777).toBe(0o600);

    const reopened = await openRepo(repoDir);
    const check = await checkRepository({ repo: reopened, readData: 1, workers: 1 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
    const target = join(dir, 'restore');
    const restored = await restoreSnapshot({ repo: reopened, snapshot, target, workers: 2 });
    expect(restored.failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
  });

  it('a half-written pack file is nothing: check clean, the next backup completes, the sweep removes it', async () => {
    const dir = await tempDir();
    const src = await sourceTree(dir);
    const repoDir = join(dir, 'repo');
    const repo = await createRepo(repoDir, smallRepo);
    await backupDir(repo, src);
    // What a worker killed mid-pack leaves: the first bytes of a pack in a temp file of data/.
    const backend = new LocalBackend(repoDir, { staleTempMs: 60_000 });
    const someName = [...repo.index.packs.keys()][0]!;
    const half = (await readFile(join(repoDir, 'data', someName.slice(0, 2), someName))).subarray(0, 50_000);
    const leftover = await backend.newPackFile(1);
    await writeFile(leftover, half, { mode: 0o600 });

    const listed: string[] = [];
    for await (const info of backend.list('data')) listed.push(info.name);
    expect(listed.some((n) => n.startsWith('.'))).toBe(false);
    const reopened = await openRepo(repoDir);
    const check = await checkRepository({ repo: reopened, readData: 1, workers: 1 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
    await writeFile(join(src, 'new.bin'), randomBytes(200 * KiB));
    const next = await backupDir(reopened, src);
    expect(next.fileErrors).toEqual([]);
    expect(next.orphansRecovered.packs).toBe(0);
    // Young: kept (it may be a save still running in another process); old: swept.
    expect(await backend.removeStaleTempFiles()).toBe(0);
    const old = new Date(Date.now() - 3_600_000);
    await utimes(leftover, old, old);
    expect(await backend.removeStaleTempFiles()).toBe(1);
    expect(await tempFilesIn(repoDir)).toEqual([]);
  });

  it('a failed pack write fails the backup as a save does, with no snapshot and no temp file', async () => {
    const dir = await tempDir();
    const src = await sourceTree(dir);
    const repoDir = join(dir, 'repo');
    await createRepo(repoDir, smallRepo);
    // Pack files where none can be created (a file stands where their folder should be): ENOTDIR, as a
    // full or broken disk would fail the write.
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    class BrokenPackFiles extends LocalBackend {
      override newPackFile(): Promise<string> {
        return Promise.resolve(join(blocker, '.tmp-pack'));
      }
    }
    const repo = await Repository.open(new BrokenPackFiles(repoDir), TEST_PASSWORD);
    await repo.loadIndex();
    const error = await backupDir(repo, src).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLifeboatError(error)).toBe(true);
    expect((error as Error).message).toMatch(/save .*not-a-folder/);
    expect((await readdir(join(repoDir, 'snapshots'))).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(await tempFilesIn(repoDir)).toEqual([]);
  });

  it('a cancelled backup deletes the pack files its workers had begun', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    for (let i = 0; i < 8; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(2 * 1024 * KiB));
    const repoDir = join(dir, 'repo');
    // Packs of 16 MiB: the 16 MiB of data fill none, so both workers hold a begun pack file when cancelled.
    const repo = await Repository.init(new LocalBackend(repoDir), TEST_PASSWORD, { scrypt: testScrypt });
    const abort = new AbortController();
    let begun: string[] = [];
    const backup = backupDir(repo, src, {
      signal: abort.signal,
      onProgress: (p) => {
        if (abort.signal.aborted || p.bytes < 8 * 1024 * KiB) return;
        begun = readdirSync(join(repoDir, 'data')).filter((n) => n.startsWith('.tmp-'));
        abort.abort();
      },
    }).then(
      () => 'completed',
      (e: unknown) => (isLifeboatError(e, 'CANCELLED') ? 'cancelled' : e),
    );
    expect(await backup).toBe('cancelled');
    expect(begun.length).toBeGreaterThan(0);
    expect(await tempFilesIn(repoDir)).toEqual([]);
  });
});

describe('backup workers writing pack files into staging (remote repositories)', () => {
  async function stagedBackup(maxStagedBytes: number): Promise<{ packFiles: number; peak: number; restoredSame: () => Promise<void> }> {
    const dir = await tempDir();
    const src = await sourceTree(dir);
    const remote = new MemoryBackend();
    const local = new RecordingBackend(join(dir, 'staging'));
    const staging = new StagingBackend(remote, local, { concurrency: 2, maxStagedBytes });
    const repo = await Repository.init(staging, TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const { snapshot } = await backupDir(repo, src);
    await staging.flush();
    expect(staging.pending.objects).toBe(0);
    expect(await tempFilesIn(join(dir, 'staging'))).toEqual([]);
    return {
      packFiles: local.packFiles.length,
      peak: staging.stagedPeak,
      restoredSame: async () => {
        const fromRemote = await Repository.open(remote, TEST_PASSWORD);
        await fromRemote.loadIndex();
        const check = await checkRepository({ repo: fromRemote, readData: 1, workers: 1 });
        expect(check.errors).toEqual([]);
        expect(check.damaged).toEqual([]);
        const target = join(dir, 'restore');
        expect((await restoreSnapshot({ repo: fromRemote, snapshot, target, workers: 2 })).failed).toEqual([]);
        expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
      },
    };
  }

  it('reserve room under the bound before writing: staging stays under it, and the remote repository checks and restores', async () => {
    // Packs of 256 KiB, pack files of at most 1.25 MiB (packBufferCapacity): room for three is 3.75 MiB.
    const bound = 4 * 1024 * KiB;
    const out = await stagedBackup(bound);
    expect(out.packFiles).toBeGreaterThanOrEqual(6);
    expect(out.peak).toBeLessThanOrEqual(bound);
    await out.restoredSame();
  });

  it('a bound with no room for a pack file per worker and one more keeps packs in memory (save), and still backs up', async () => {
    const bound = 3 * 1024 * KiB;
    const out = await stagedBackup(bound);
    expect(out.packFiles).toBe(0);
    expect(out.peak).toBeLessThanOrEqual(bound);
    await out.restoredSame();
  });
});
