/**
 * Replacing what a restore target holds (--overwrite, issue 20) is safe: a
 * replacement that cannot be completed leaves the old file exactly as it was
 * (it is written under a temporary name and renamed over the old one only
 * when complete), leaves no temporary file behind, and a symlink put at the
 * path while the restore runs is replaced by the rename, never written
 * through.
 */
import { randomBytes } from 'node:crypto';
import { symlinkSync, unlinkSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { flipPackByte } from '../../helpers/flip-pack-byte.js';

const tempDir = useTempDirs('restore-overwrite');

async function setup() {
  const base = await tempDir();
  const src = join(base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'small.txt'), 'from the snapshot\n');
  await writeFile(join(src, 'big.bin'), randomBytes(256 * 1024)); // 2–64 KiB chunks: several blobs
  await writeFile(join(src, 'fine.txt'), 'restores fine\n');
  const repoDir = join(base, 'repo');
  const created = await createRepo(repoDir, smallRepo);
  const { snapshot } = await backupDir(created, src);
  const target = join(base, 'target');
  await mkdir(join(target, 'data'), { recursive: true });
  for (const name of ['small.txt', 'big.bin', 'fine.txt']) await writeFile(join(target, 'data', name), `the operator's own ${name}\n`);
  return { base, src, repoDir, snapshot, target, data: join(target, 'data') };
}

/** Flips one byte in the middle of the first content blob of `name` (a top-level file of source `data`). */
async function damage(repoDir: string, snapshotTree: string, name: string): Promise<void> {
  const repo = await openRepo(repoDir);
  const data = await repo.loadTree((await repo.loadTree(snapshotTree)).nodes.find((n) => n.name === 'data')!.subtree!);
  const loc = repo.index.lookup(data.nodes.find((n) => n.name === name)!.content![0]!)!;
  await flipPackByte(repoDir, loc);
}

describe('restore --overwrite', () => {
  it('a replacement that fails (its blob damaged) leaves the old file as it was, and no temporary file', async () => {
    const { src, repoDir, snapshot, target, data } = await setup();
    await damage(repoDir, snapshot.tree, 'small.txt');
    await damage(repoDir, snapshot.tree, 'big.bin');
    const repo = await openRepo(repoDir);
    const out = await restoreSnapshot({ repo, snapshot, target, workers: 1, overwrite: 'always' });

    // The failures name the files, not their temporary names.
    expect([...new Set(out.failed.map((f) => f.path))].sort()).toEqual([join(data, 'big.bin'), join(data, 'small.txt')]);
    expect(await readFile(join(data, 'small.txt'), 'utf8')).toBe("the operator's own small.txt\n");
    expect(await readFile(join(data, 'big.bin'), 'utf8')).toBe("the operator's own big.bin\n");
    // The one that could be restored was replaced.
    expect(await readFile(join(data, 'fine.txt'), 'utf8')).toBe(await readFile(join(src, 'fine.txt'), 'utf8'));
    expect(out.replaced).toBe(1);
    expect((await readdir(data)).sort()).toEqual(['big.bin', 'fine.txt', 'small.txt']);
  });

  it('a symlink put at a replaced path during the restore is replaced by the rename, never written through', async () => {
    const { src, repoDir, snapshot, target, data, base } = await setup();
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'victim.txt'), 'precious\n');
    const outsideBefore = await manifestOf(outside);
    const repo = await openRepo(repoDir);
    let planted = false;
    const out = await restoreSnapshot({
      repo,
      snapshot,
      target,
      workers: 1,
      overwrite: 'always',
      onMilestone: (m) => {
        if (m !== 'planned') return;
        for (const name of ['small.txt', 'big.bin']) {
          unlinkSync(join(data, name));
          symlinkSync(join(outside, 'victim.txt'), join(data, name));
        }
        planted = true;
      },
    });
    expect(planted).toBe(true);
    expect(out.failed).toEqual([]);
    expectSameManifest(await manifestOf(outside), outsideBefore);
    expect((await lstat(join(data, 'small.txt'))).isFile()).toBe(true);
    expectSameManifest(await manifestOf(data), await manifestOf(src));
  });

  it('a folder above --path that is a symlink is refused before anything is written, whatever the policy', async () => {
    const { repoDir, snapshot, base } = await setup();
    const outside = join(base, 'outside-parent');
    await mkdir(outside);
    const outsideBefore = await manifestOf(outside);
    const repo = await openRepo(repoDir);
    for (const overwrite of [undefined, 'always'] as const) {
      const target = join(base, `parent-link-${overwrite ?? 'none'}`);
      await mkdir(target);
      symlinkSync(outside, join(target, 'data'));
      await expect(restoreSnapshot({ repo, snapshot, target, subPath: 'data/small.txt', workers: 1, overwrite })).rejects.toMatchObject({ code: 'RESTORE_UNSAFE_PATH' });
      expectSameManifest(await manifestOf(outside), outsideBefore);
    }
  });
});
