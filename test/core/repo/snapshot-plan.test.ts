/**
 * The one walk of a snapshot (src/core/repo/snapshot-plan.ts): what it lists,
 * that a restore given it walks no tree again, that it is refused for another
 * snapshot or path, and how an unreadable folder listing is carried to the
 * restore (the folder fails, the rest is restored) and to a thaw plan (refused).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { planSnapshot, type PlannedNode } from '../../../src/core/repo/snapshot-plan.js';
import { packsToRead } from '../../../src/core/tier/restore-plan.js';
import { expectSameManifest, manifestOf, withoutPaths } from '../../helpers/fs-manifest.js';
import { backupDir, countListingReads, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('snapshot-plan');

async function sourceTree(base: string): Promise<string> {
  const src = join(base, 'src');
  await mkdir(join(src, 'a/b/c'), { recursive: true });
  await mkdir(join(src, 'empty'));
  await writeFile(join(src, 'top.txt'), 'top\n');
  await writeFile(join(src, 'a/one.bin'), randomBytes(200 * 1024));
  await writeFile(join(src, 'a/b/two.txt'), 'two\n');
  await writeFile(join(src, 'a/b/c/three.txt'), '');
  return src;
}

const names = (entries: PlannedNode[]) => entries.map((e) => `${e.kind}:${e.rel}`);

describe('planSnapshot', () => {
  it('lists every file once in walk order, with its blobs located in the index', async () => {
    const base = await tempDir();
    const src = await sourceTree(base);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const { snapshot } = await backupDir(repo, src);

    const plan = await planSnapshot(repo, snapshot);
    expect(plan.parents).toEqual([]);
    expect(names(plan.entries)).toEqual(['dir:data']);
    expect(plan.files.map((f) => f.rel)).toEqual(['data/a/b/c/three.txt', 'data/a/b/two.txt', 'data/a/one.bin', 'data/top.txt']);
    expect(plan.fileBytes).toBe(200 * 1024 + 4 + 4);
    expect(plan.unreadable).toEqual([]);
    for (const f of plan.files) {
      expect(f.missing).toBeUndefined();
      expect(f.locs.map((l) => l.id)).toEqual(f.node.content ?? []);
    }
    expect(plan.files.find((f) => f.rel === 'data/a/one.bin')!.locs.length).toBeGreaterThan(1);
  });

  it('a sub-path plan names the folders above it and the one entry it restores', async () => {
    const base = await tempDir();
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const { snapshot } = await backupDir(repo, await sourceTree(base));

    const plan = await planSnapshot(repo, snapshot, { subPath: 'data/a/b/' });
    expect(plan.subPath).toBe('data/a/b/');
    expect(plan.parents).toEqual(['data', 'data/a']);
    expect(names(plan.entries)).toEqual(['dir:data/a/b']);
    expect(plan.files.map((f) => f.rel)).toEqual(['data/a/b/c/three.txt', 'data/a/b/two.txt']);
    await expect(planSnapshot(repo, snapshot, { subPath: 'data/nope' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(planSnapshot(repo, snapshot, { subPath: 'data/top.txt/below' })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('a restore given the plan loads no folder listing again; without one it walks each folder once', async () => {
    const base = await tempDir();
    const src = await sourceTree(base);
    const repoDir = join(base, 'repo');
    const { snapshot } = await backupDir(await createRepo(repoDir, smallRepo), src);

    const repo = await openRepo(repoDir);
    const loads = countListingReads(repo);
    const plan = await planSnapshot(repo, snapshot);
    // The root, data, a, a/b, a/b/c and empty: one load each.
    expect(loads()).toBe(6);
    const out = await restoreSnapshot({ repo, snapshot, plan, target: join(base, 'with-plan'), workers: 1 });
    expect(loads()).toBe(6);
    expect(out.failed).toEqual([]);
    expect(out).toMatchObject({ totalFiles: 4, files: 4, dirs: 5 });
    expectSameManifest(await manifestOf(join(base, 'with-plan/data')), await manifestOf(src));

    await restoreSnapshot({ repo, snapshot, target: join(base, 'without'), workers: 1 });
    expect(loads()).toBe(12);
  });

  it('a plan of another snapshot or sub-path is refused before anything is written', async () => {
    const base = await tempDir();
    const src = await sourceTree(base);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    await writeFile(join(src, 'later.txt'), 'later\n');
    const second = await backupDir(repo, src, { parent: first.snapshot });
    const plan = await planSnapshot(repo, first.snapshot);
    const target = join(base, 'never');

    await expect(restoreSnapshot({ repo, snapshot: second.snapshot, plan, target })).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(restoreSnapshot({ repo, snapshot: first.snapshot, subPath: 'data/a', plan, target })).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(open(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an unreadable folder listing: the plan carries it, the restore fails that folder and restores the rest, a thaw plan refuses', async () => {
    const base = await tempDir();
    const src = await sourceTree(base);
    const repoDir = join(base, 'repo');
    const repo = await createRepo(repoDir, smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const dataTree = await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const damaged = repo.index.lookup(dataTree.nodes.find((n) => n.name === 'a')!.subtree!)!;
    const fh = await open(join(repoDir, 'data', damaged.pack.slice(0, 2), damaged.pack), 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, damaged.offset + 14);
    await fh.close();

    const fresh = await openRepo(repoDir);
    const plan = await planSnapshot(fresh, snapshot);
    expect(plan.unreadable.map((d) => d.rel)).toEqual(['data/a']);
    expect(plan.files.map((f) => f.rel)).toEqual(['data/top.txt']);
    expect(() => packsToRead(fresh, plan)).toThrow(expect.objectContaining({ code: 'REPO_CORRUPT' }));

    const target = join(base, 'target');
    const out = await restoreSnapshot({ repo: fresh, snapshot, plan, target, workers: 1 });
    expect(out.failed).toEqual([{ path: join(target, 'data/a'), error: expect.stringMatching(/^folder listing: .*failed authentication/) }]);
    const inA = (rel: string) => rel === 'a' || rel.startsWith('a/');
    expectSameManifest(withoutPaths(await manifestOf(join(target, 'data')), inA), withoutPaths(await manifestOf(src), inA));
  });
});
