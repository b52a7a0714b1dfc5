/**
 * A backup after few changes (src/core/pipeline/discover.ts with
 * src/core/repo/archiver.ts and local-blob-reader.ts): folders whose listing
 * is the parent's keep the parent's tree id without encoding it again, the
 * parent's listings of a local repository are read straight from their pack
 * files and checked like any blob, and a damaged one is read through the
 * backend as before (its files are then stored as new).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sameNodes } from '../../../src/core/repo/archiver.js';
import { LocalBlobReader } from '../../../src/core/repo/local-blob-reader.js';
import type { Repository } from '../../../src/core/repo/repository.js';
import type { Tree, TreeNode } from '../../../src/core/repo/tree.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('unchanged-listings');

async function makeTree(src: string): Promise<void> {
  for (const dir of ['a/deep/er', 'b', 'c/d']) await mkdir(join(src, dir), { recursive: true });
  await writeFile(join(src, 'top.txt'), 'top\n');
  await writeFile(join(src, 'a/deep/er/x.txt'), 'x'.repeat(5000));
  await writeFile(join(src, 'b/y.txt'), 'y\n');
  await writeFile(join(src, 'c/d/z.txt'), 'z\n');
  await symlink('../b/y.txt', join(src, 'c/link'));
}

/** Every folder's tree id in a snapshot, by path. */
async function treeIds(repo: Repository, root: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const walk = async (id: string, path: string): Promise<void> => {
    ids.set(path, id);
    for (const node of (await repo.loadTree(id)).nodes) if (node.type === 'dir' && node.subtree) await walk(node.subtree, `${path}/${node.name}`);
  };
  await walk(root, '');
  return ids;
}

describe('unchanged listings', () => {
  it('a backup with nothing changed stores nothing and has the same trees; a change renews only the listings on its path', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await makeTree(src);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    const second = await backupDir(repo, src, { parent: first.snapshot });
    expect(second.snapshot.tree).toBe(first.snapshot.tree);
    expect(second.snapshot.stats).toMatchObject({ bytesNew: 0, bytesStored: 0, blobsNew: 0 });
    expect(second.progress.filesUnchanged).toBe(4);

    await writeFile(join(src, 'a/deep/er/x.txt'), 'changed');
    const third = await backupDir(repo, src, { parent: second.snapshot });
    const before = await treeIds(repo, first.snapshot.tree);
    const after = await treeIds(repo, third.snapshot.tree);
    const renewed = [...after].filter(([path, id]) => before.get(path) !== id).map(([path]) => path);
    expect(renewed.sort()).toEqual(['', '/data', '/data/a', '/data/a/deep', '/data/a/deep/er']);
    const listing = await repo.loadTree(after.get('/data/a/deep/er')!);
    expect(listing.nodes.map((n) => [n.name, n.size])).toEqual([['x.txt', 7]]);
  });

  it('a folder with one changed file among unchanged ones: its listing is the same tree a backup without a parent writes', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await makeTree(src);
    for (const name of ['p.txt', 'q.txt', 'r.txt']) await writeFile(join(src, 'b', name), `${name}\n`.repeat(300));
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    await writeFile(join(src, 'b/q.txt'), 'changed');
    // The walk takes the unchanged files' nodes from the parent's listing (the same objects): the tree must not differ.
    const withParent = await backupDir(repo, src, { parent: first.snapshot });
    expect(withParent.progress.filesUnchanged).toBe(6);
    const fresh = await backupDir(repo, src);
    expect(fresh.progress.filesUnchanged).toBe(0);
    expect(withParent.snapshot.tree).toBe(fresh.snapshot.tree);
    const listing = await repo.loadTree((await treeIds(repo, withParent.snapshot.tree)).get('/data/b')!);
    expect(listing.nodes.map((n) => [n.name, n.size])).toEqual([['p.txt', 1800], ['q.txt', 7], ['r.txt', 1800], ['y.txt', 2]]);
  });

  it('reads a local listing straight from its pack, checked: the same tree as through the backend; a damaged one reads as undefined and the backup stores its files as new', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await makeTree(src);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    const reader = LocalBlobReader.for(repo)!;
    try {
      for (const id of (await treeIds(repo, first.snapshot.tree)).values()) expect(reader.tree(id)).toEqual(await repo.loadTree(id));
      expect(reader.tree('00'.repeat(32))).toBeUndefined(); // not indexed
    } finally {
      reader.close();
    }

    // Damage the listing of b/: one byte of its sealed blob flipped in the pack file.
    const ids = await treeIds(repo, first.snapshot.tree);
    const loc = repo.index.lookup(ids.get('/data/b')!)!;
    const packFile = join(base, 'repo', 'data', loc.pack.slice(0, 2), loc.pack);
    const bytes = readFileSync(packFile);
    bytes[loc.offset + 20] = bytes[loc.offset + 20]! ^ 0xff;
    writeFileSync(packFile, bytes);
    const damagedReader = LocalBlobReader.for(repo)!;
    try {
      expect(damagedReader.tree(ids.get('/data/b')!)).toBeUndefined();
      expect(damagedReader.tree(ids.get('/data/c')!)).toBeDefined();
    } finally {
      damagedReader.close();
    }

    // A fresh repository object (no cached listings): b/'s file is stored again, the others are taken from the parent.
    const reopened = await openRepo(join(base, 'repo'));
    const second = await backupDir(reopened, src, { parent: first.snapshot });
    expect(second.fileErrors).toEqual([]);
    expect(second.progress.filesUnchanged).toBe(3);
    expect(second.progress.diff.filesAdded).toBe(1);
  });

  it('sameNodes: equal only when the JSON would be the same bytes (same keys in the same order, same values)', () => {
    const node = (extra: Partial<TreeNode> = {}): TreeNode => ({ name: 'f', type: 'file', mode: 0o644, mtimeMs: 1.5, size: 3, content: ['ab'], ...extra });
    const tree: Tree = { nodes: [node(), node({ name: 'g' })] };
    expect(sameNodes(tree.nodes, JSON.parse(JSON.stringify(tree)).nodes as TreeNode[])).toBe(true);
    expect(sameNodes([node()], [node({ content: ['ac'] })])).toBe(false);
    expect(sameNodes([node()], [node({ mtimeMs: 1.6 })])).toBe(false);
    expect(sameNodes([node()], [{ ...node(), inode: 7 }])).toBe(false);
    const { name, ...rest } = node();
    expect(sameNodes([node()], [{ ...rest, name } as TreeNode])).toBe(false); // same fields, another order
    expect(sameNodes([node()], [node(), node()])).toBe(false);
    expect(sameNodes([node({ mtimeMs: Number.NaN })], [node({ mtimeMs: Number.NaN })])).toBe(false);
  });
});
