/**
 * A restore never writes outside its target, whatever the repository says:
 * trees with `..`, slashes or duplicate names (a malicious or damaged
 * repository), and a target that already holds a symlink where a folder goes.
 */
import { link, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackBuilder } from '../../../src/core/repo/pack.js';
import type { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import type { TreeNode } from '../../../src/core/repo/tree.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-safety');
const mtimeMs = Date.UTC(2022, 0, 1);

/** Store one data blob by hand; returns its id. */
async function saveData(repo: Repository, bytes: Buffer): Promise<string> {
  const id = repo.blobId(bytes);
  const builder = new PackBuilder(repo.key, 3, 4 * 1024 * 1024);
  builder.add('data', id, bytes);
  await repo.savePack(builder.finish()!);
  return id;
}

/** Write a snapshot whose root tree is `nodes` (subtrees saved before with `dirNode`). */
async function craftSnapshot(repo: Repository, nodes: TreeNode[]): Promise<Snapshot> {
  const { id: tree } = await repo.saveTree({ nodes }, () => true);
  await repo.flushTrees();
  await repo.flushIndex();
  return repo.saveSnapshot({
    time: new Date().toISOString(),
    runbook: 'evil',
    host: 'attacker',
    user: 'mallory',
    tree,
    sources: [{ name: 'data', kind: 'path', origin: '/data' }],
    stats: { files: 1, dirs: 1, bytes: 0, bytesNew: 0, bytesStored: 0, blobsNew: 0 },
  });
}

async function dirNode(repo: Repository, name: string, nodes: TreeNode[]): Promise<TreeNode> {
  const { id } = await repo.saveTree({ nodes }, () => true);
  return { name, type: 'dir', mode: 0o755, mtimeMs, subtree: id };
}

describe('restore refuses paths that would escape the target', () => {
  it.each([
    ['a root folder named ..', async (repo: Repository, payload: TreeNode[]) => [await dirNode(repo, '..', payload)]],
    ['a nested ../.. file name', async (repo: Repository, payload: TreeNode[]) => [await dirNode(repo, 'data', payload.map((n) => ({ ...n, name: `../../${n.name}` })))]],
    ['a name with a slash', async (repo: Repository, payload: TreeNode[]) => [await dirNode(repo, 'data', [await dirNode(repo, 'a/..', [await dirNode(repo, '..', [await dirNode(repo, '..', payload)])])])]],
    ['an absolute name', async (repo: Repository, payload: TreeNode[]) => [await dirNode(repo, 'data', payload.map((n) => ({ ...n, name: `/tmp/${n.name}` })))]],
    ['a name that is empty or .', async (repo: Repository, payload: TreeNode[]) => [await dirNode(repo, 'data', [await dirNode(repo, '.', payload), await dirNode(repo, '', payload)])]],
    [
      'a symlink and a folder with the same name (write through the link)',
      async (repo: Repository, payload: TreeNode[], outside: string) => [
        await dirNode(repo, 'data', [
          { name: 'link', type: 'symlink', mode: 0o777, mtimeMs, target: outside },
          await dirNode(repo, 'link', payload),
        ]),
      ],
    ],
  ] as const)('%s: RESTORE_UNSAFE_PATH, nothing written outside the target', async (_label, build) => {
    const base = await tempDir();
    const outside = join(base, 'outside');
    const target = join(base, 'target');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'mine\n');
    await mkdir(target);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const content = await saveData(repo, Buffer.from('pwned\n'));
    // An empty file (created while planning) and a file with content (written by a worker).
    const payload: TreeNode[] = [
      { name: 'escaped-empty', type: 'file', mode: 0o644, mtimeMs, size: 0, content: [] },
      { name: 'escaped-data', type: 'file', mode: 0o644, mtimeMs, size: 6, content: [content] },
    ];
    const snapshot = await craftSnapshot(repo, await build(repo, payload, outside));
    const before = await manifestOf(base, (rel) => rel === 'target' || rel.startsWith('target/'));

    await expect(restoreSnapshot({ repo, snapshot, target, workers: 1 })).rejects.toMatchObject({ code: 'RESTORE_UNSAFE_PATH' });
    expectSameManifest(await manifestOf(base, (rel) => rel === 'target' || rel.startsWith('target/')), before);
    expect(await readdir(outside)).toEqual(['keep.txt']);
    expect(await findNamed(base, /^escaped/)).toEqual([]);
  });

  it('refuses to restore into a target where a folder of the snapshot is a symlink to elsewhere', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'inner'), { recursive: true });
    await writeFile(join(src, 'inner/file.txt'), 'hello\n');
    await writeFile(join(src, 'inner/empty'), '');
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const outside = join(base, 'outside');
    await mkdir(outside);
    const outsideBefore = await manifestOf(outside);

    for (const [at, sub] of [['data', undefined], ['data/inner', undefined], ['data/inner', 'data/inner']] as const) {
      const target = join(base, `target-${at.replace('/', '-')}-${sub ?? 'all'}`);
      await mkdir(join(target, at, '..'), { recursive: true });
      await symlink(outside, join(target, at));
      await expect(restoreSnapshot({ repo, snapshot, target, subPath: sub, workers: 1 })).rejects.toMatchObject({ code: 'RESTORE_UNSAFE_PATH' });
      expectSameManifest(await manifestOf(outside), outsideBefore);
    }
  });

  it('replaces a symlink or hard link that sits where a file of the snapshot goes, without writing through it', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'file.txt'), 'from the snapshot\n');
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'hard.txt'), 'snapshot content\n');
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'victim.txt'), 'precious\n');
    await writeFile(join(outside, 'victim-2.txt'), 'precious too\n');
    await writeFile(join(outside, 'victim-3.txt'), 'precious three\n');
    const outsideBefore = await manifestOf(outside);
    const target = join(base, 'target');
    await mkdir(join(target, 'data'), { recursive: true });
    await symlink(join(outside, 'victim.txt'), join(target, 'data/file.txt'));
    await symlink(join(outside, 'victim-2.txt'), join(target, 'data/empty'));
    // A hard link is no better: truncating and writing it in place would change the outside file.
    await link(join(outside, 'victim-3.txt'), join(target, 'data/hard.txt'));

    // Replacing what the target holds takes a policy (issue 20: a restore never replaces silently).
    const out = await restoreSnapshot({ repo, snapshot, target, workers: 1, overwrite: 'always' });
    expectSameManifest(await manifestOf(outside), outsideBefore);
    // Either outcome keeps the victim safe; restic's is to replace the link, and a restore should not fail on it.
    expect(out.failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
  });
});

/** Relative paths under `root` whose base name matches. */
async function findNamed(root: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.filter((rel) => pattern.test(rel.split('/').at(-1)!));
}
