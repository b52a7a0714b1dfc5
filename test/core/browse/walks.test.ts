/**
 * find and diff over an in-process repository: the work they do is that of
 * what changed (folder listings counted, not timed), and a damaged folder
 * listing costs find that folder, named, not the search.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../../src/core/browse/diff.js';
import { findInSnapshots, pathMatcher } from '../../../src/core/browse/find.js';
import { LifeboatError } from '../../../src/core/errors.js';
import type { Repository } from '../../../src/core/repo/repository.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import { backupDir, countTreeLoads, createRepo, openRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('browse-walks');
const FOLDERS = 30;
let repoDir: string;
const snaps: Snapshot[] = [];

beforeAll(async () => {
  const base = await tempDir();
  const src = join(base, 'src');
  repoDir = join(base, 'repo');
  for (let f = 0; f < FOLDERS; f++) {
    await mkdir(join(src, `f${f}`, 'inner'), { recursive: true });
    for (let i = 0; i < 4; i++) await writeFile(join(src, `f${f}`, 'inner', `file-${i}.txt`), `folder ${f} file ${i}\n`);
  }
  const repo = await createRepo(repoDir);
  // Five snapshots; between two of them one file in one folder is rewritten.
  for (let n = 0; n < 5; n++) {
    if (n > 0) await writeFile(join(src, `f${n}`, 'inner', 'file-0.txt'), `edited in snapshot ${n}\n`);
    snaps.push((await backupDir(repo, src, { parent: snaps.at(-1), workers: 1, time: new Date(Date.UTC(2026, 0, 1 + n)) })).snapshot);
  }
});

async function fresh(): Promise<Repository> {
  return openRepo(repoDir); // its own tree cache: every listing is read afresh
}

describe('find', () => {
  it('searches five snapshots for little more than the listings of one', async () => {
    const one = await fresh();
    const countOne = countTreeLoads(one);
    await findInSnapshots(one, snaps.slice(0, 1), pathMatcher('file-0.txt'));
    const five = await fresh();
    const countFive = countTreeLoads(five);
    const found = await findInSnapshots(five, snaps, pathMatcher('file-0.txt'));
    // One walk: the root, the source folder, each folder and its inner folder. Each later snapshot: those of them that changed (root, source, folder, inner).
    expect(countOne()).toBe(2 + 2 * FOLDERS);
    expect(countFive()).toBe(countOne() + 4 * 4);
    expect(found.matches).toHaveLength(FOLDERS);
    expect(found.matches.find((m) => m.path === 'data/f2/inner/file-0.txt')!.sightings.map((s) => s.change)).toEqual(['present', 'unchanged', 'changed', 'unchanged', 'unchanged']);
  });

  it('names a folder whose listing is damaged and searches the rest', async () => {
    const repo = await fresh();
    const root = await repo.loadTree(snaps[0]!.tree);
    const data = (await repo.loadTree(root.nodes[0]!.subtree!)).nodes.find((n) => n.name === 'f7')!;
    const load = repo.loadTree.bind(repo);
    repo.loadTree = async (id, index) => {
      if (id === data.subtree) throw new LifeboatError('REPO_CORRUPT', `tree ${id.slice(0, 12)} is damaged`);
      return load(id, index);
    };
    const found = await findInSnapshots(repo, snaps.slice(0, 2), pathMatcher('file-1.txt'));
    expect(found.unreadable).toEqual([
      { snapshot: snaps[0]!.id, path: 'data/f7' },
      { snapshot: snaps[1]!.id, path: 'data/f7' },
    ]);
    expect(found.matches).toHaveLength(FOLDERS - 1);
  });
});

describe('diff', () => {
  it('reads only the listings on the way to what changed', async () => {
    const repo = await fresh();
    const count = countTreeLoads(repo);
    const d = await diffSnapshots(repo, snaps[0]!, snaps[4]!);
    expect(d.changes.map((c) => `${c.change} ${c.path}`)).toEqual([1, 2, 3, 4].map((n) => `changed data/f${n}/inner/file-0.txt`));
    // Both roots and both data folders, then the two sides of each changed folder and its inner folder.
    expect(count()).toBe(2 + 2 + 4 * 4);
  });

  it('fails on the first damaged listing it needs, as before its listings were loaded ahead, and leaves no load unhandled', async () => {
    const repo = await fresh();
    const listingOf = async (snap: Snapshot, name: string) => {
      const root = await repo.loadTree(snap.tree);
      return (await repo.loadTree(root.nodes[0]!.subtree!)).nodes.find((n) => n.name === name)!.subtree!;
    };
    // f1 and f2 changed between snapshots 0 and 4 (both damaged here); the walk needs f1 first.
    const first = await listingOf(snaps[4]!, 'f1');
    const later = await listingOf(snaps[4]!, 'f2');
    const load = repo.loadTree.bind(repo);
    const asked: string[] = [];
    repo.loadTree = async (id, index) => {
      asked.push(id);
      if (id === first || id === later) throw new LifeboatError('REPO_CORRUPT', `tree ${id.slice(0, 12)} is damaged`);
      return load(id, index);
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(diffSnapshots(repo, snaps[0]!, snaps[4]!)).rejects.toThrow(`tree ${first.slice(0, 12)} is damaged`);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(asked).not.toContain(later);
    expect(unhandled).toEqual([]);
  });
});
