/**
 * A restore's main thread forces one full collection between preparing and
 * writing (release-memory.ts restorePrepared, issue 22): planning a large tree
 * leaves its garbage in the old generation, and V8 ran no full collection of
 * the main thread through a whole restore of /usr/share, so it stayed through
 * the write phase, the peak. A small restore is not made to pay for one.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESTORE_PREPARED_COLLECTION_FILES } from '../../../src/core/repo/release-memory.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { forcedCollectionsDuring } from '../../helpers/forced-collections.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-collection');

describe('the full collection before a restore writes', () => {
  it('is forced once for a plan of enough files, and not for one file fewer', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'many'), { recursive: true });
    // Empty files: a restore of them reads no pack (no worker pool, whose workers collect on their own threads).
    for (let i = 0; i < RESTORE_PREPARED_COLLECTION_FILES; i++) await writeFile(join(src, 'many', `f${i}`), '');
    await createRepo(join(base, 'repo'), smallRepo);
    const repo = await openRepo(join(base, 'repo'));
    const { snapshot } = await backupDir(repo, src);

    const all = join(base, 'all');
    expect(await forcedCollectionsDuring(() => restoreSnapshot({ repo, snapshot, target: all }), { major: true })).toBe(1);
    expect(await readdir(join(all, 'data', 'many'))).toHaveLength(RESTORE_PREPARED_COLLECTION_FILES);

    const fewer = join(base, 'fewer');
    const restoreFewer = () => restoreSnapshot({ repo, snapshot, target: fewer, patterns: { exclude: ['data/many/f0'] } });
    expect(await forcedCollectionsDuring(restoreFewer, { major: true })).toBe(0);
    expect(await readdir(join(fewer, 'data', 'many'))).toHaveLength(RESTORE_PREPARED_COLLECTION_FILES - 1);
  });
});
