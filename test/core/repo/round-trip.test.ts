/**
 * Backup then restore gives back the same bytes and the same metadata: content,
 * mode, mtime (to the millisecond), symlink targets, empty files and folders.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, truncateSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaultyBackend } from '../../../src/core/backends/faulty-backend.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { defaultChunker } from '../../../src/core/repo/format.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { expectSameManifest, manifestOf, withoutPaths } from '../../helpers/fs-manifest.js';
import { makeRichTree, setMtimes } from '../../helpers/fixture-tree.js';
import { TEST_PASSWORD, backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import type { TreeNode } from '../../../src/core/repo/tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const tempDir = useTempDirs('round-trip');

async function expectCheckClean(repo: Repository): Promise<void> {
  const check = await checkRepository({ repo, readData: 1, workers: 2 });
  expect(check.errors).toEqual([]);
  expect(check.damaged).toEqual([]);
  expect(check.packsRead).toBe(check.packs);
}

/** The tree node at `path` (`data/sub/file`) in a snapshot. */
async function nodeAt(repo: Repository, snapshot: Snapshot, path: string): Promise<TreeNode> {
  let tree = await repo.loadTree(snapshot.tree);
  const parts = path.split('/');
  for (const [i, part] of parts.entries()) {
    const node = tree.nodes.find((n) => n.name === part);
    if (!node) throw new Error(`${path}: no ${part}`);
    if (i === parts.length - 1) return node;
    tree = await repo.loadTree(node.subtree!);
  }
  throw new Error('unreachable');
}

describe('round trip', () => {
  it('restores a rich tree byte- and metadata-identical (nested, empty, symlinks, unicode, 255-byte names, > max chunk)', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    const outside = join(base, 'outside');
    await mkdir(src);
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'outside the tree\n');
    const tree = await makeRichTree(src, { outside, bigSize: 1 * MiB + 7 });
    const before = await manifestOf(src);

    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const out = await backupDir(repo, src);
    expect(out.fileErrors).toEqual([]);
    expect(out.warnings).toEqual([]);
    expect(out.failedSources).toEqual([]);
    expect(out.snapshot.stats.files).toBe(tree.files.length);
    // The big file spans many chunks (max 64 KiB), the two equal files share theirs.
    const big = await nodeAt(repo, out.snapshot, 'data/big.bin');
    expect(big.content!.length).toBeGreaterThanOrEqual(Math.ceil((1 * MiB) / smallRepo.chunker!.maxSize));
    expect((await nodeAt(repo, out.snapshot, 'data/copy-2.bin')).content).toEqual((await nodeAt(repo, out.snapshot, 'data/copy-1.bin')).content);
    expect((await nodeAt(repo, out.snapshot, 'data/links/outside-absolute')).target).toBe(join(outside, 'secret.txt'));

    // The source is gone when we restore (as after a disaster): nothing can be borrowed from it.
    await rm(outside, { recursive: true });
    const target = join(base, 'target');
    const restored = await restoreSnapshot({ repo, snapshot: out.snapshot, target, workers: 2 });
    expect(restored.failed).toEqual([]);
    expect(restored.files).toBe(tree.files.length);
    expect(restored.symlinks).toBe(5);
    expect(await readdir(target)).toEqual(['data']);
    expectSameManifest(await manifestOf(join(target, 'data')), before);
    // The links pointing outside were created as links and never followed.
    expect(await readdir(base)).toEqual(['repo', 'src', 'target']);
    // And with the outside target present, restoring does not write through or next to it.
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'outside the tree\n');
    const outsideBefore = await manifestOf(outside);
    const again = await restoreSnapshot({ repo, snapshot: out.snapshot, target: join(base, 'target-2'), workers: 2 });
    expect(again.failed).toEqual([]);
    expectSameManifest(await manifestOf(outside), outsideBefore);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('outside the tree\n');

    await expectCheckClean(repo);
  });

  it('restores over an earlier restore of the same snapshot identically', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await makeRichTree(src, { outside: join(base, 'nowhere'), bigSize: 200 * KiB });
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const target = join(base, 'target');
    await restoreSnapshot({ repo, snapshot, target, workers: 2 });
    // Over its own earlier restore: replacing takes a policy (issue 20).
    const second = await restoreSnapshot({ repo, snapshot, target, workers: 2, overwrite: 'always' });
    expect(second.failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
  });

  it('leaves out what the excludes match, files and folders, at any depth', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    for (const d of ['sub/deeper', 'node_modules/pkg', 'sub/node_modules/x', 'cache', 'sub/cache']) await mkdir(join(src, d), { recursive: true });
    for (const f of ['keep.txt', 'x.tmp', 'sub/y.tmp', 'sub/deeper/keep.md', 'node_modules/pkg/index.js', 'sub/node_modules/x/a.js', 'cache/blob', 'sub/cache/blob', '.hidden.tmp']) {
      await writeFile(join(src, f), f);
    }
    await setMtimes(src, Date.UTC(2020, 0, 1) + 0.25);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const out = await backupDir(repo, src, { exclude: ['**/*.tmp', '**/node_modules', 'cache/'] });
    expect(out.snapshot.stats.files).toBe(3);
    const target = join(base, 'target');
    await restoreSnapshot({ repo, snapshot: out.snapshot, target, workers: 2 });
    const expected = withoutPaths(await manifestOf(src), (rel) => /\.tmp$/.test(rel) || /(^|\/)node_modules(\/|$)/.test(rel) || /^cache(\/|$)/.test(rel));
    expect([...expected.keys()]).toEqual(['.', 'keep.txt', 'sub', 'sub/cache', 'sub/cache/blob', 'sub/deeper', 'sub/deeper/keep.md']);
    expectSameManifest(await manifestOf(join(target, 'data')), expected);
  });

  it('restores a sub-path (a folder, a file, a symlink) at the same place under the target, and nothing else', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await makeRichTree(src, { outside: join(base, 'nowhere'), bigSize: 300 * KiB });
    const all = await manifestOf(src);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const { snapshot } = await backupDir(repo, src);

    const t1 = join(base, 't1');
    const r1 = await restoreSnapshot({ repo, snapshot, target: t1, subPath: 'data/nested/l1', workers: 2 });
    expect(r1.failed).toEqual([]);
    expect(await readdir(t1)).toEqual(['data']);
    expect(await readdir(join(t1, 'data'))).toEqual(['nested']);
    expect(await readdir(join(t1, 'data/nested'))).toEqual(['l1']);
    expectSameManifest(await manifestOf(join(t1, 'data/nested/l1')), await manifestOf(join(src, 'nested/l1')));

    const t2 = join(base, 't2');
    await restoreSnapshot({ repo, snapshot, target: t2, subPath: '/data/big.bin/', workers: 2 });
    expect(await readdir(join(t2, 'data'))).toEqual(['big.bin']);
    expectSameManifest(await manifestOf(join(t2, 'data/big.bin')), new Map([['.', all.get('big.bin')!]]));

    const t3 = join(base, 't3');
    await restoreSnapshot({ repo, snapshot, target: t3, subPath: 'data/links/dangling', workers: 2 });
    expectSameManifest(await manifestOf(join(t3, 'data/links/dangling')), new Map([['.', all.get('links/dangling')!]]));

    await expect(restoreSnapshot({ repo, snapshot, target: join(base, 't4'), subPath: 'data/../../etc' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(restoreSnapshot({ repo, snapshot, target: join(base, 't4'), subPath: 'data/no-such-thing' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(restoreSnapshot({ repo, snapshot, target: join(base, 't4'), subPath: 'data/a.txt/below' })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('a second backup takes unchanged files from the parent without reading them, and notices a same-size rewrite', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    const tree = await makeRichTree(src, { outside: join(base, 'nowhere'), bigSize: 400 * KiB });
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    const firstManifest = await manifestOf(src);
    const packs = async () => (await readdir(join(base, 'repo/data'), { recursive: true })).length;

    // No change at all: every file from the parent, nothing new stored.
    const packsBefore = await packs();
    const same = await backupDir(repo, src, { parent: first.snapshot });
    expect(same.progress.filesUnchanged).toBe(tree.files.length);
    expect(same.progress.bytesNew).toBe(0);
    expect(same.progress.bytesStored).toBe(0);
    expect(same.snapshot.tree).toBe(first.snapshot.tree);
    expect(await packs()).toBe(packsBefore);

    // Three changes: an append, a same-size rewrite that keeps the old mtime (only ctime tells), a new file.
    await writeFile(join(src, 'a.txt'), 'hello, lifeboat\nmore\n');
    const deep = join(src, 'nested/l1/l2/l3/deep.txt');
    const deepMtime = firstManifest.get('nested/l1/l2/l3/deep.txt')!.mtimeMs;
    await writeFile(deep, 'DEEP\n'.repeat(1000));
    await utimes(deep, deepMtime / 1000, deepMtime / 1000);
    await writeFile(join(src, 'new.txt'), 'new\n');
    const second = await backupDir(repo, src, { parent: same.snapshot });
    expect(second.progress.files).toBe(tree.files.length + 1);
    expect(second.progress.filesUnchanged).toBe(tree.files.length - 2);
    expect(second.progress.bytesNew).toBeLessThan(20 * KiB);

    const t2 = join(base, 't2');
    expect((await restoreSnapshot({ repo, snapshot: second.snapshot, target: t2, workers: 2 })).failed).toEqual([]);
    expectSameManifest(await manifestOf(join(t2, 'data')), await manifestOf(src));
    expect(await readFile(join(t2, 'data/nested/l1/l2/l3/deep.txt'), 'utf8')).toMatch(/^DEEP\n/);
    // The first snapshot is untouched by the later ones.
    const t1 = join(base, 't1');
    await restoreSnapshot({ repo, snapshot: first.snapshot, target: t1, workers: 2 });
    expectSameManifest(await manifestOf(join(t1, 'data')), firstManifest);
    await expectCheckClean(repo);
  });

  it('with the default chunker and pack size, a ~20 MiB file spans several chunks and restores identically', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    // Half random, half compressible: both storage paths of a blob.
    await writeFile(join(src, 'large.bin'), Buffer.concat([randomBytes(12 * MiB + 3), Buffer.alloc(8 * MiB, 'lifeboat ')]));
    await writeFile(join(src, 'small.txt'), 'small\n');
    const repo = await createRepo(join(base, 'repo'));
    expect(repo.config.chunker).toEqual(defaultChunker);
    const out = await backupDir(repo, src);
    const large = await nodeAt(repo, out.snapshot, 'data/large.bin');
    expect(large.content!.length).toBeGreaterThanOrEqual(3); // max chunk is 8 MiB
    expect(out.snapshot.stats.bytesStored).toBeLessThan(15 * MiB); // the compressible half shrank
    const target = join(base, 'target');
    expect((await restoreSnapshot({ repo, snapshot: out.snapshot, target, workers: 2 })).failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
    await expectCheckClean(repo);
  });

  it('records files that change size while being read, stores what was read, and stays consistent', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    const grow = join(src, 'grow.bin');
    const shrink = join(src, 'shrink.bin');
    await writeFile(grow, randomBytes(24 * MiB));
    await writeFile(shrink, randomBytes(24 * MiB));
    await writeFile(join(src, 'steady.txt'), 'steady\n');
    await createRepo(join(base, 'repo'), { chunker: { minSize: 64 * KiB, avgSize: 256 * KiB, maxSize: 1 * MiB }, packSize: 1 * MiB });
    // Hold every pack save until the files are changed: a worker stops reading once three of its
    // packs wait (3 MiB); with the pack it builds and its 9 MiB read buffer, at most ~13 MiB is read.
    let openGate!: () => void;
    const backend = new FaultyBackend(new LocalBackend(join(base, 'repo')), [
      { op: 'save', kind: 'data', action: { type: 'wait', until: new Promise<void>((r) => (openGate = r)) } },
    ]);
    const repo = await Repository.open(backend, TEST_PASSWORD);
    await repo.loadIndex();
    const running = backupDir(repo, src);
    while (backend.calls.save < 2) await sleep(10);
    await sleep(300);
    appendFileSync(grow, randomBytes(1 * MiB));
    truncateSync(shrink, 18 * MiB);
    openGate();
    const out = await running;
    expect(out.fileErrors).toEqual([]);
    expect(out.warnings.map((w) => w.path).sort()).toEqual([grow, shrink]);
    for (const w of out.warnings) expect(w.message).toMatch(/changed while being read/);
    expect((await nodeAt(repo, out.snapshot, 'data/grow.bin')).size).toBe(25 * MiB);
    expect((await nodeAt(repo, out.snapshot, 'data/shrink.bin')).size).toBe(18 * MiB);

    const target = join(base, 'target');
    expect((await restoreSnapshot({ repo, snapshot: out.snapshot, target, workers: 2 })).failed).toEqual([]);
    expect((await readFile(join(target, 'data/grow.bin'))).equals(await readFile(grow))).toBe(true);
    expect((await readFile(join(target, 'data/shrink.bin'))).equals(await readFile(shrink))).toBe(true);
    await expectCheckClean(repo);

    // The next backup does not trust the metadata seen before the change: both files are read again.
    const next = await backupDir(repo, src, { parent: out.snapshot });
    expect(next.progress.filesUnchanged).toBe(1);
    expect(next.warnings).toEqual([]);
  });

  it('a file whose name is not valid UTF-8 is reported as a file error, never silently left out', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'plain.txt'), 'kept\n');
    // "caf\xe9.txt": Latin-1, not UTF-8. Node decodes it with a replacement character, which names no file.
    const latin1 = Buffer.concat([Buffer.from(src + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]);
    await writeFile(latin1, 'not stored\n');
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const out = await backupDir(repo, src);
    expect(out.fileErrors).toHaveLength(1);
    expect(out.fileErrors[0]!.message).toMatch(/not valid UTF-8 \(bytes 636166e92e747874\)/);
    expect(out.snapshot.errors).toHaveLength(1);
    expect((await nodeAt(repo, out.snapshot, 'data/plain.txt')).size).toBe(5);
  });
});
