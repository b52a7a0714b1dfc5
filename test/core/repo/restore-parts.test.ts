/**
 * What the restore's speed work must not change (issue 22): a file whose
 * blobs lie in several packs, written by two workers that keep its
 * descriptor open across a job's blobs, comes back byte for byte; folders'
 * and symlinks' metadata, now finished side by side one depth at a time,
 * come back as the snapshot has them, read-only parents included.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, lutimes, mkdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { planSnapshot } from '../../../src/core/repo/snapshot-plan.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-parts');
const KiB = 1024;

describe('restore across packs and workers', () => {
  it('writes multi-blob files spread over several packs byte-identical, and sets every folder and symlink as backed up', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    // Two files of many 2–64 KiB chunks, backed up by two workers into 256 KiB packs:
    // each file's blobs are spread over many packs, interleaved with the other's.
    await mkdir(join(src, 'big'), { recursive: true });
    const one = randomBytes(900 * KiB);
    const two = randomBytes(700 * KiB);
    await writeFile(join(src, 'big/one.bin'), one);
    await writeFile(join(src, 'big/two.bin'), two);
    // The same blob twice in one file and once in another (one blob, several targets).
    const block = randomBytes(64 * KiB);
    const repeated = Buffer.concat([block, randomBytes(3 * KiB), block, block]);
    await writeFile(join(src, 'big/repeated.bin'), repeated);
    // Folders three deep, the outer ones read-only, each with its own mtime, and symlinks at each depth.
    const dirs = ['deep', 'deep/a', 'deep/a/b', 'deep/a/b/c', 'deep/x', 'deep/x/y'];
    for (const d of dirs) await mkdir(join(src, d), { recursive: true });
    for (const [i, d] of dirs.entries()) {
      await writeFile(join(src, d, `f${i}.txt`), `file ${i} in ${d}\n`);
      await symlink(`f${i}.txt`, join(src, d, `link${i}`));
      await lutimes(join(src, d, `link${i}`), 1_600_000_000 + i, 1_600_000_000 + i);
    }
    const modes: Record<string, number> = { deep: 0o555, 'deep/a': 0o500, 'deep/a/b': 0o750, 'deep/a/b/c': 0o700, 'deep/x': 0o511, 'deep/x/y': 0o755 };
    // Innermost first: a folder's mtime is set after its contents are made.
    for (const [i, d] of [...dirs.entries()].reverse()) {
      await chmod(join(src, d), modes[d]!);
      await utimes(join(src, d), 1_500_000_000 + i * 1000, 1_500_000_000 + i * 1000);
    }

    const repoDir = join(base, 'repo');
    const { snapshot } = await backupDir(await createRepo(repoDir, smallRepo), src, { workers: 2 });
    const repo = await openRepo(repoDir);
    const plan = await planSnapshot(repo, snapshot);
    const packsOf = (rel: string) => new Set(plan.files.find((f) => f.rel === rel)?.locs.map((l) => l.pack));
    expect(packsOf('data/big/one.bin').size).toBeGreaterThan(2);
    expect(packsOf('data/big/two.bin').size).toBeGreaterThan(2);
    const target = join(base, 'restored');
    const result = await restoreSnapshot({ repo, snapshot, plan, target, workers: 2 });

    expect(result.failed).toEqual([]);
    expect(result.packsRead).toBeGreaterThan(4);
    const root = join(target, 'data');
    expect((await readFile(join(root, 'big/one.bin'))).equals(one)).toBe(true);
    expect((await readFile(join(root, 'big/two.bin'))).equals(two)).toBe(true);
    expect((await readFile(join(root, 'big/repeated.bin'))).equals(repeated)).toBe(true);
    for (const [i, d] of dirs.entries()) {
      const st = await lstat(join(root, d));
      expect({ d, mode: st.mode & 0o7777, mtime: Math.round(st.mtimeMs / 1000) }).toEqual({ d, mode: modes[d], mtime: 1_500_000_000 + i * 1000 });
      expect(await readFile(join(root, d, `f${i}.txt`), 'utf8')).toBe(`file ${i} in ${d}\n`);
      const link = await lstat(join(root, d, `link${i}`));
      expect(link.isSymbolicLink()).toBe(true);
      expect(await readlink(join(root, d, `link${i}`))).toBe(`f${i}.txt`);
      expect(Math.round(link.mtimeMs / 1000)).toBe(1_600_000_000 + i);
    }
    // Read-only folders, here and in the source: writable again so the temp folder can be removed.
    for (const d of dirs) for (const top of [root, src]) await chmod(join(top, d), 0o755);
  });
});
