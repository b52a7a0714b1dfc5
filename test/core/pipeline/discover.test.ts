/**
 * The discover stage (src/core/pipeline/discover.ts) as a backup runs it
 * (backupPaths, src/core/pipeline/snapshot-stage.ts): the manifest diff
 * against the parent, excludes, what is skipped or reported, and a source
 * that fails alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { backupPaths } from '../../../src/core/pipeline/snapshot-stage.js';
import { Archiver } from '../../../src/core/repo/archiver.js';
import { planSnapshot } from '../../../src/core/repo/snapshot-plan.js';
import { backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('discover');

describe('discover', () => {
  it('diffs the manifest with the parent: added, changed and removed files and bytes (a removed folder counts every file below it); unchanged files are not read', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'gone/deeper'), { recursive: true });
    await writeFile(join(src, 'same.txt'), 'same\n');
    await writeFile(join(src, 'edited.txt'), 'first\n');
    await writeFile(join(src, 'removed.txt'), '1234567');
    await writeFile(join(src, 'gone/a.txt'), 'aa');
    await writeFile(join(src, 'gone/deeper/b.txt'), 'bbb');
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const first = await backupDir(repo, src);
    expect(first.progress.diff).toEqual({ filesAdded: 5, filesChanged: 0, filesRemoved: 0, bytesAdded: 5 + 6 + 7 + 2 + 3, bytesChanged: 0, bytesRemoved: 0 });
    expect(first.progress).toMatchObject({ filesFound: 5, bytesFound: 23, walkDone: true, filesUnchanged: 0 });

    await writeFile(join(src, 'edited.txt'), 'second!\n');
    await writeFile(join(src, 'new.txt'), 'new\n');
    await rm(join(src, 'removed.txt'));
    await rm(join(src, 'gone'), { recursive: true });
    const second = await backupDir(repo, src, { parent: first.snapshot });
    expect(second.progress.diff).toEqual({ filesAdded: 1, filesChanged: 1, filesRemoved: 3, bytesAdded: 4, bytesChanged: 8, bytesRemoved: 7 + 2 + 3 });
    expect(second.progress).toMatchObject({ filesFound: 3, bytesFound: 5 + 8 + 4, filesUnchanged: 1, files: 3 });
  });

  it('leaves out what the excludes match (files, folders by a trailing slash, dot files) and skips special files with a warning', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'cache/inner'), { recursive: true });
    await mkdir(join(src, 'keep'));
    await writeFile(join(src, 'cache/inner/x.bin'), 'x');
    await writeFile(join(src, 'keep/a.tmp'), 'tmp');
    await writeFile(join(src, 'keep/.hidden.tmp'), 'tmp');
    await writeFile(join(src, 'keep/a.txt'), 'kept');
    execFileSync('mkfifo', [join(src, 'keep/pipe')]);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const out = await backupDir(repo, src, { exclude: ['**/*.tmp', 'cache/'] });

    const plan = await planSnapshot(repo, out.snapshot);
    expect(plan.files.map((f) => f.rel)).toEqual(['data/keep/a.txt']);
    expect(out.warnings).toEqual([{ path: join(src, 'keep/pipe'), message: expect.stringMatching(/not a regular file.*skipped/) }]);
    expect(out.fileErrors).toEqual([]);
    expect(out.progress.dirs).toBe(2);
  });

  it('a source that cannot be read fails alone; the others are in the snapshot', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'a');
    await writeFile(join(base, 'single.txt'), 'one file source');
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    const out = await backupPaths({
      repo,
      runbook: 'test',
      workers: 1,
      sources: [
        { name: 'dir', path: src, exclude: [] },
        { name: 'missing', path: join(base, 'nowhere'), exclude: [] },
        { name: 'single', path: join(base, 'single.txt'), exclude: [] },
      ],
    });
    expect(out.failedSources).toEqual([{ name: 'missing', error: { code: 'SOURCE_FAILED', message: expect.stringMatching(/^source missing: .*ENOENT/) } }]);
    expect(out.snapshot.sources.map((s) => s.name)).toEqual(['dir', 'single']);
    const plan = await planSnapshot(repo, out.snapshot);
    expect(plan.files.map((f) => f.rel)).toEqual(['dir/a.txt', 'single']);
  });

  it('holds the workers\' queue to its bound inside one large folder too: files wait for room while the folder is listed, not only before it', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'big'), { recursive: true });
    const count = 3000;
    for (let i = 0; i < count; i++) await writeFile(join(src, 'big', `f${String(i).padStart(4, '0')}`), `file ${i}\n`);
    const repo = await createRepo(join(base, 'repo'), smallRepo);
    let inFlight = 0;
    let most = 0;
    const store = Archiver.prototype.store;
    const spy = vi.spyOn(Archiver.prototype, 'store').mockImplementation(async function (this: Archiver, ...args: Parameters<Archiver['store']>) {
      most = Math.max(most, ++inFlight);
      try {
        return await store.apply(this, args);
      } finally {
        inFlight--;
      }
    });
    try {
      const out = await backupDir(repo, src);
      expect(out.progress.files).toBe(count);
      // The scheduler's bound (1,024 files), at most one look's worth (128 names) past it, and one answered
      // batch (128) whose stores are still returning; before, all 3,000 at once.
      expect(most).toBeGreaterThan(128);
      expect(most).toBeLessThanOrEqual(1024 + 128 + 128);
      const plan = await planSnapshot(repo, out.snapshot);
      expect(plan.files).toHaveLength(count);
    } finally {
      spy.mockRestore();
    }
  });
});
