/**
 * `check` of a local repository reads the folder listings (trees) it walks
 * straight from their pack files (src/core/repo/local-blob-reader.ts), each
 * checked like any blob, instead of four libuv round trips per listing
 * through the backend; a listing that does not read or check out that way is
 * loaded through the repository as before, which reports the damage.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { backupDir, countTreeLoads, createRepo, flipBitInBlob, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('check-local-trees');

const folders = ['a', 'a/deep', 'a/deep/er', 'b', 'c', 'c/d'];

async function backedUp(): Promise<{ base: string; repoDir: string; snapshotTree: string }> {
  const base = await tempDir();
  const src = join(base, 'src');
  for (const dir of folders) {
    await mkdir(join(src, dir), { recursive: true });
    await writeFile(join(src, dir, 'f.txt'), `${dir}\n`.repeat(50));
  }
  const repoDir = join(base, 'repo');
  const repo = await createRepo(repoDir, smallRepo);
  const { snapshot } = await backupDir(repo, src);
  return { base, repoDir, snapshotTree: snapshot.tree };
}

describe('check reads a local repository’s folder listings from the pack files', () => {
  it('walks every listing without a load through the repository, and finds nothing wrong', async () => {
    const { repoDir } = await backedUp();
    const repo = await openRepo(repoDir);
    const loads = countTreeLoads(repo);
    const outcome = await checkRepository({ repo, readData: 0 });
    expect(outcome.errors).toEqual([]);
    // The root, `data` and the six folders.
    expect(outcome.treesChecked).toBe(folders.length + 2);
    expect(loads()).toBe(0);
  });

  it('a listing damaged inside its pack is loaded through the repository and reported at its path', async () => {
    const { repoDir, snapshotTree } = await backedUp();
    const before = await openRepo(repoDir);
    const dataTree = (await before.loadTree(snapshotTree)).nodes.find((n) => n.name === 'data')!.subtree!;
    const bId = (await before.loadTree(dataTree)).nodes.find((n) => n.name === 'b')!.subtree!;
    const loc = before.index.lookup(bId)!;
    // One bit of folder b's sealed listing flipped, in place in its pack file.
    flipBitInBlob(repoDir, loc);

    const repo = await openRepo(repoDir);
    const loads = countTreeLoads(repo);
    const outcome = await checkRepository({ repo, readData: 0 });
    expect(outcome.errors).toHaveLength(1);
    expect(outcome.errors[0]).toMatch(/: tree at data\/b: /);
    // Only the damaged listing went through the repository's own load.
    expect(loads()).toBe(1);
  });
});
