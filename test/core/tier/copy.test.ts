/**
 * The copy at the core: two folder repositories with their own master keys.
 * Blob ids differ between them (HMAC under each repository's key), so the copy
 * re-encodes trees; a second copy dedups everything; the cold copy restores
 * byte-identical.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { SnapshotCopier, copiesByOrigin } from '../../../src/core/tier/copy.js';
import { verifyColdCopy } from '../../../src/core/tier/verify-copy.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { keystream } from '../../integration/s3/harness.js';

const tempDir = useTempDirs('tier-copy');

async function sourceTree(root: string, seed: string): Promise<void> {
  await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(root, 'big.bin'), keystream(`${seed}-big`, 700 * 1024));
  await writeFile(join(root, 'shared.bin'), keystream('shared', 300 * 1024));
  await writeFile(join(root, 'sub', 'small.txt'), `hello ${seed}\n`);
  await writeFile(join(root, 'sub', 'deeper', 'empty'), '');
}

describe('copying snapshots between repositories', () => {
  it('re-encodes trees with cold ids, dedups against cold, verifies, and restores identical', async () => {
    const [hotDir, coldDir, src, out] = await Promise.all([tempDir(), tempDir(), tempDir(), tempDir()]);
    const hot = await createRepo(hotDir, smallRepo);
    await createRepo(coldDir, smallRepo);
    await sourceTree(src, 'one');
    const first = await backupDir(hot, src);
    await writeFile(join(src, 'sub', 'small.txt'), 'changed\n');
    const second = await backupDir(hot, src, { parent: first.snapshot });

    const cold = await openRepo(coldDir);
    const copier = new SnapshotCopier(await openRepo(hotDir), cold);
    const c1 = await copier.copySnapshot(first.snapshot);
    // Different keys: the same bytes have a different id in cold.
    expect(c1.tree).not.toBe(first.snapshot.tree);
    expect(c1.copiedFrom).toEqual({ repository: hot.config.id, snapshot: first.snapshot.id });
    const copiedFirst = copier.progress.blobsCopied;
    expect(copiedFirst).toBeGreaterThan(10);
    const c2 = await copier.copySnapshot(second.snapshot, c1.id);
    // Only the changed file and the trees above it are new.
    expect(copier.progress.blobsCopied - copiedFirst).toBeLessThanOrEqual(4);
    expect(c2.parent).toBe(c1.id);

    const verified = await verifyColdCopy(cold, new LocalBackend(coldDir), { snapshots: [c1.id, c2.id], referenced: copier.referenced });
    expect(verified.problems).toEqual([]);
    expect(verified.packsChecked).toBeGreaterThan(0);

    // A fresh copier (a re-run) finds every blob in cold already: nothing new is written.
    const coldAgain = await openRepo(coldDir);
    const again = new SnapshotCopier(await openRepo(hotDir), coldAgain);
    const tree = await again.copyData(first.snapshot);
    expect(tree).toBe(c1.tree);
    expect(again.progress.blobsCopied).toBe(0);
    expect(coldAgain.written).toEqual([]);
    expect(copiesByOrigin(await coldAgain.listSnapshots(), hot.config.id).get(first.snapshot.id)?.id).toBe(c1.id);

    const check = await checkRepository({ repo: coldAgain, readData: 1 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);

    await restoreSnapshot({ repo: coldAgain, snapshot: c2, target: out });
    expectSameManifest(await manifestOf(join(out, 'data')), await manifestOf(src));
  });

  it('finds a blob missing in cold and says which', async () => {
    const [hotDir, coldDir, src] = await Promise.all([tempDir(), tempDir(), tempDir()]);
    const hot = await createRepo(hotDir, smallRepo);
    await createRepo(coldDir, smallRepo);
    await sourceTree(src, 'two');
    const { snapshot } = await backupDir(hot, src);
    const cold = await openRepo(coldDir);
    const copier = new SnapshotCopier(hot, cold);
    const copy = await copier.copySnapshot(snapshot);
    const bogus = new Set([...copier.referenced, 'ab'.repeat(32)]);
    const verified = await verifyColdCopy(cold, new LocalBackend(coldDir), { snapshots: [copy.id, 'cd'.repeat(32)], referenced: bogus });
    expect(verified.problems.join('\n')).toMatch(/cold snapshot cdcdcdcd is not in/);
    expect(verified.problems.join('\n')).toMatch(/blob abababababab is referenced by a copied snapshot but no index/);
  });
});
