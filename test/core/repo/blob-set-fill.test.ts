/**
 * The backup workers deduplicate against the shared blob set alone, which
 * the archiver fills from the index when the first file must be read
 * (src/core/repo/archiver.ts, store): after starting the workers, before
 * their first job. A file the repository already holds under another name
 * (so not taken from the parent snapshot unread) is read and stores nothing.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupDir, createRepo, smallRepo, writeVariedFiles } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('blob-set-fill');

describe('the blob set the workers deduplicate against', () => {
  it("holds the index's blobs before the workers' first job: known content under new names stores nothing new", async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeVariedFiles(src, 4, 300 * 1024, 131);
    const repo = await createRepo(join(dir, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    expect(first.snapshot.stats.blobsNew).toBeGreaterThan(4);
    // New names: read by the workers (no parent node to reuse), every chunk already stored.
    for (let f = 0; f < 4; f++) await copyFile(join(src, `f${f}.bin`), join(src, `copy${f}.bin`));
    const second = await backupDir(repo, src, { parent: first.snapshot });
    expect(second.progress.filesUnchanged).toBe(4);
    expect(second.progress.bytesNew).toBe(0);
    // No data blob is stored again (the new root listing is a tree blob, not counted here).
    expect(second.snapshot.stats.blobsNew).toBe(0);
  });
});
