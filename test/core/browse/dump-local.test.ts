/**
 * `dump` of a local repository reads file contents straight from the pack
 * files (LocalBlobReader.blob: one pread each, checked like any blob), not
 * through four libuv round trips per blob; a blob that does not read or check
 * out that way is loaded through the repository, whose error names the
 * damage, and the tar stays whole with that file zero-filled.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpSnapshotPath } from '../../../src/core/browse/dump.js';
import type { Repository } from '../../../src/core/repo/repository.js';
import { backupDir, createRepo, flipBitInBlob, openRepo, smallRepo, writeVariedFiles } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('dump-local');

/** Counts loads of data blobs (file contents) through the repository from now on. */
function countDataLoads(repo: Repository): () => number {
  let count = 0;
  const load = repo.loadBlob.bind(repo);
  repo.loadBlob = (...args: Parameters<Repository['loadBlob']>) => {
    if (repo.index.lookup(args[0])?.type === 'data') count++;
    return load(...args);
  };
  return () => count;
}

async function dumpToTar(repo: Repository, path: string, dir: string) {
  const snapshot = (await repo.listSnapshots()).at(-1)!;
  const parts: Buffer[] = [];
  const outcome = await dumpSnapshotPath(repo, snapshot, path, { write: async (c) => void parts.push(Buffer.from(c)) });
  const file = join(dir, 'out.tar');
  await writeFile(file, Buffer.concat(parts));
  const into = join(dir, 'x');
  await mkdir(into);
  const res = spawnSync('tar', ['-xf', file, '-C', into], { encoding: 'utf8' });
  expect(res.status, res.stderr).toBe(0);
  return { outcome, into };
}

describe('dump from a local repository', () => {
  it('reads every file content from the packs, not through the repository, and the tar holds the tree', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'deep'), { recursive: true });
    await writeVariedFiles(src, 6, 100_000, 1);
    await writeFile(join(src, 'deep', 'small.txt'), 'small\n');
    const repoDir = join(base, 'repo');
    await backupDir(await createRepo(repoDir, smallRepo), src);

    const repo = await openRepo(repoDir);
    const loads = countDataLoads(repo);
    const { outcome, into } = await dumpToTar(repo, 'data', base);
    expect(outcome.damaged).toEqual([]);
    expect(outcome.files).toBe(7);
    expect(loads()).toBe(0);
    for (const name of ['f0.bin', 'f5.bin', 'deep/small.txt']) expect(await readFile(join(into, 'data', name))).toEqual(await readFile(join(src, name)));
  });

  it('a blob damaged in its pack goes through the repository, which names the damage; that file is zero-filled, the others whole', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    for (const name of ['f0.bin', 'f1.bin', 'f2.bin']) await writeFile(join(src, name), randomBytes(30_000));
    const repoDir = join(base, 'repo');
    const before = await createRepo(repoDir, smallRepo);
    const { snapshot } = await backupDir(before, src);
    const data = (await before.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!;
    const victim = (await before.loadTree(data)).nodes.find((n) => n.name === 'f1.bin')!;
    const loc = before.index.lookup(victim.content![0]!)!;
    flipBitInBlob(repoDir, loc);

    const repo = await openRepo(repoDir);
    const loads = countDataLoads(repo);
    const { outcome, into } = await dumpToTar(repo, 'data', base);
    expect(outcome.damaged, JSON.stringify(outcome.damaged)).toHaveLength(1);
    expect(outcome.damaged[0]!.path).toBe('data/f1.bin');
    expect(outcome.damaged[0]!.error).toMatch(/authentication.*zero-filled in the archive/);
    expect(loads()).toBe(1);
    expect(await readFile(join(into, 'data', 'f0.bin'))).toEqual(await readFile(join(src, 'f0.bin')));
    expect(await readFile(join(into, 'data', 'f2.bin'))).toEqual(await readFile(join(src, 'f2.bin')));
    const zeroed = await readFile(join(into, 'data', 'f1.bin'));
    expect(zeroed.length).toBe(30_000);
  });
});
