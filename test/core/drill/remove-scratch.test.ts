/**
 * removeScratch (src/core/drill/remove-scratch.ts): a drill's scratch folder is
 * removed whole, symlinks unlinked and never followed, with a bounded number
 * of file-system requests in flight (Node's recursive `rm` had every entry of
 * the tree in flight at once: the 50k-file tree drill's peak memory).
 */
import { lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeScratch } from '../../../src/core/drill/remove-scratch.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('remove-scratch');

async function gone(path: string): Promise<boolean> {
  return lstat(path).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
  );
}

/** `folders` folders two deep, `files` files in each. */
async function tree(root: string, folders: number, files: number): Promise<void> {
  for (let d = 0; d < folders; d++) {
    const dir = join(root, `d${d}`, 'e');
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: files }, (_, i) => writeFile(join(dir, `f${i}`), 'x')));
  }
}

/** The most file-system requests pending at once while `run` runs, sampled every turn of the event loop. */
async function peakRequests(run: () => Promise<void>): Promise<number> {
  let peak = 0;
  let running = true;
  const sample = () => {
    const n = process.getActiveResourcesInfo().filter((t) => t.startsWith('FSReq')).length;
    if (n > peak) peak = n;
    if (running) setImmediate(sample);
  };
  sample();
  try {
    await run();
  } finally {
    running = false;
  }
  return peak;
}

describe('removeScratch', () => {
  it('removes the whole tree: files, nested and empty folders, symlinks (not what they point to)', async () => {
    const base = await tempDir();
    const scratch = join(base, 'scratch');
    await tree(scratch, 3, 40);
    await mkdir(join(scratch, 'empty', 'deeper'), { recursive: true });
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'keep');
    await symlink(outside, join(scratch, 'd0', 'link-to-folder'));
    await symlink(join(outside, 'keep'), join(scratch, 'link-to-file'));
    await symlink(join(base, 'nowhere'), join(scratch, 'dangling'));

    await removeScratch(scratch);

    expect(await gone(scratch)).toBe(true);
    expect(await readdir(outside)).toEqual(['keep']);
  });

  it('a missing folder is no error; a file where the folder was is removed', async () => {
    const base = await tempDir();
    await removeScratch(join(base, 'never-made'));
    await writeFile(join(base, 'file'), 'x');
    await removeScratch(join(base, 'file'));
    expect(await gone(join(base, 'file'))).toBe(true);
  });

  it('keeps few requests in flight: 2,000 files in 20 folders never have more than 4 x 16 pending at once', async () => {
    const base = await tempDir();
    const scratch = join(base, 'scratch');
    await tree(scratch, 20, 100);
    const peak = await peakRequests(() => removeScratch(scratch));
    expect(await gone(scratch)).toBe(true);
    // 4 folders at a time, 16 unlinks each (+1 slack for a request the sampler sees finishing); Node's rm had ~2,000.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(65);
  });
});
