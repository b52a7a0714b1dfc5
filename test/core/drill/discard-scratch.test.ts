/**
 * discardScratch / finishDiscards (src/core/drill/discard-scratch.ts): a
 * drill's scratch folder leaves its place at once and is removed in the
 * background (a detached `rm -rf`, or this process without `rm`); what a
 * removal left behind is removed by the next drill before it restores.
 */
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOVING, discardScratch, finishDiscards } from '../../../src/core/drill/discard-scratch.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('discard-scratch');

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
  );
}

/** A restore-like tree: `folders` folders two deep with `files` files each, and a symlink out of the tree. */
async function restoreTree(root: string, folders: number, files: number, outside: string): Promise<void> {
  for (let d = 0; d < folders; d++) {
    const dir = join(root, `d${d}`, 'e');
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: files }, (_, i) => writeFile(join(dir, `f${i}`), `file ${i}`)));
  }
  await symlink(outside, join(root, 'd0', 'link'));
}

/** Entries left under `<scratch root>/.removing`, once empty or after `ms`. */
async function removingLeft(root: string, ms = 10_000): Promise<string[]> {
  const dir = join(root, REMOVING);
  const list = () => readdir(dir).catch(() => [] as string[]);
  const deadline = Date.now() + ms;
  while ((await list()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return list();
}

describe('discardScratch', () => {
  it('moves the folder aside before returning, then a background removal takes all of it, never what a symlink points to', async () => {
    const root = join(await tempDir(), 'scratch');
    const outside = join(await tempDir(), 'keep.txt');
    await writeFile(outside, 'not the drill’s');
    const drill = join(root, 'drill-app-1');
    await restoreTree(drill, 20, 50, outside);

    await discardScratch(drill);
    // Out of its place at once: the command may end now.
    expect(await exists(drill)).toBe(false);
    expect(await readdir(root)).toEqual([REMOVING]);

    expect(await removingLeft(root)).toEqual([]);
    expect(await readFile(outside, 'utf8')).toBe('not the drill’s');
  });

  it('without `rm` on the PATH, this process removes it itself', async () => {
    const root = join(await tempDir(), 'scratch');
    const outside = join(await tempDir(), 'keep.txt');
    await writeFile(outside, 'x');
    const drill = join(root, 'drill-app-2');
    await restoreTree(drill, 5, 20, outside);
    const path = process.env.PATH;
    process.env.PATH = await tempDir(); // an empty folder: spawn cannot find rm
    try {
      await discardScratch(drill);
    } finally {
      process.env.PATH = path;
    }
    expect(await exists(drill)).toBe(false);
    expect(await removingLeft(root)).toEqual([]);
    expect(await exists(outside)).toBe(true);
  });

  it('a folder it cannot move is removed before it returns', async () => {
    const root = join(await tempDir(), 'scratch');
    const drill = join(root, 'drill-app-3');
    await restoreTree(drill, 3, 5, '/nonexistent');
    // `.removing` is a file here, so nothing can be moved into it.
    await writeFile(join(root, REMOVING), 'in the way');
    await discardScratch(drill);
    expect(await exists(drill)).toBe(false);
  });
});

describe('finishDiscards', () => {
  it('removes every folder a cut-short removal left under .removing (a crash, a reboot), and accepts a root without one', async () => {
    const root = join(await tempDir(), 'scratch');
    await finishDiscards(root); // nothing discarded yet: no error
    const outside = join(await tempDir(), 'keep.txt');
    await writeFile(outside, 'x');
    await restoreTree(join(root, REMOVING, 'drill-app-old-1a2b3c4d'), 4, 10, outside);
    await restoreTree(join(root, REMOVING, 'drill-db-old-5e6f7a8b'), 2, 3, outside);
    await finishDiscards(root);
    expect(await readdir(join(root, REMOVING))).toEqual([]);
    expect(await exists(outside)).toBe(true);
  });

  it('never follows a symlink planted in the state folder: as .removing itself, or as an entry in it', async () => {
    // Someone who can write the state folder points .removing (and an entry in it) at a folder of someone else's.
    const victim = await tempDir();
    await restoreTree(victim, 2, 3, '/nonexistent');
    const before = await readdir(victim, { recursive: true });
    const rootA = join(await tempDir(), 'scratch');
    await mkdir(rootA, { recursive: true });
    await symlink(victim, join(rootA, REMOVING));
    await finishDiscards(rootA);
    // A drill folder discarded there is removed in place instead of being moved through the link.
    const drill = join(rootA, 'drill-app-4');
    await restoreTree(drill, 2, 2, '/nonexistent');
    await discardScratch(drill);
    expect(await exists(drill)).toBe(false);
    expect(await readdir(victim, { recursive: true })).toEqual(before);

    const rootB = join(await tempDir(), 'scratch');
    await mkdir(join(rootB, REMOVING), { recursive: true });
    await symlink(victim, join(rootB, REMOVING, 'drill-app-old-00000000'));
    await finishDiscards(rootB);
    expect(await readdir(join(rootB, REMOVING))).toEqual([]); // the link is gone…
    expect(await readdir(victim, { recursive: true })).toEqual(before); // …and nothing it pointed to
  });
});
