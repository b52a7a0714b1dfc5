/**
 * A restore never follows a symlink (nor writes through a hard link) planted
 * in its target, whether it was there before the restore or appears while the
 * restore runs: files are created with O_EXCL|O_NOFOLLOW (a replacement under
 * a temporary name, then renamed over what was there), and owner, mode and
 * times are set on descriptors opened with O_NOFOLLOW. The "during" cases
 * plant their link at the `planned` milestone, which comes after the restorer
 * made the folders (and for multi-blob and empty files, created the files)
 * and before any worker writes: the same window an attacker racing the
 * restore would aim for, hit deterministically.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { linkSync, lstatSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyDirMeta, applyFileMeta } from '../../../src/core/repo/restore-writer.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import type { TreeNode } from '../../../src/core/repo/tree.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-no-follow');
const old = new Date(Date.UTC(2001, 0, 1));

/**
 * A source folder with one file of each restore path: `small.txt` (one blob,
 * written whole by a worker), `big.bin` (many blobs: created while planning,
 * filled by workers, metadata set at the end), `empty` (created while
 * planning) and an empty folder `sub`. Modes and times are unusual so that a
 * restored copy is told from a default one.
 */
async function sourceTree(base: string): Promise<string> {
  const src = join(base, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'small.txt'), 'from the snapshot\n');
  await writeFile(join(src, 'big.bin'), randomBytes(256 * 1024)); // 2–64 KiB chunks: several blobs
  await writeFile(join(src, 'empty'), '');
  const times: [string, number, number][] = [
    ['small.txt', 0o640, Date.UTC(2020, 1, 2, 3, 4, 5)],
    ['big.bin', 0o751, Date.UTC(2019, 5, 6, 7, 8, 9)],
    ['empty', 0o604, Date.UTC(2018, 9, 10, 11, 12, 13)],
    ['sub', 0o750, Date.UTC(2017, 3, 4, 5, 6, 7)],
  ];
  for (const [name, mode, mtime] of times) {
    await chmod(join(src, name), mode);
    await utimes(join(src, name), new Date(mtime), new Date(mtime));
  }
  return src;
}

/** Files outside the target, one per planted link, mode 0600 and an old mtime; and a folder. */
async function victims(base: string): Promise<string> {
  const outside = join(base, 'outside');
  await mkdir(join(outside, 'folder'), { recursive: true });
  for (const name of ['v-small', 'v-big', 'v-empty', 'v-hard-small', 'v-hard-big']) {
    await writeFile(join(outside, name), `precious ${name}\n`, { mode: 0o600 });
    await utimes(join(outside, name), old, old);
  }
  await chmod(join(outside, 'folder'), 0o700);
  await utimes(join(outside, 'folder'), old, old);
  await utimes(outside, old, old);
  return outside;
}

async function setup() {
  const base = await tempDir();
  const src = await sourceTree(base);
  const repo = await createRepo(join(base, 'repo'), smallRepo);
  const { snapshot } = await backupDir(repo, src);
  const outside = await victims(base);
  const outsideBefore = await manifestOf(outside);
  const target = join(base, 'target');
  await mkdir(join(target, 'data'), { recursive: true });
  return { base, src, repo, snapshot, outside, outsideBefore, target, data: join(target, 'data') };
}

describe('restore does not follow a planted link', () => {
  it('replaces a symlink planted before the restore at a file of each kind; the outside files keep content, mode and mtime', async () => {
    const { src, repo, snapshot, outside, outsideBefore, target, data } = await setup();
    await symlink(join(outside, 'v-small'), join(data, 'small.txt'));
    await symlink(join(outside, 'v-big'), join(data, 'big.bin'));
    await symlink(join(outside, 'v-empty'), join(data, 'empty'));

    const out = await restoreSnapshot({ repo, snapshot, target, workers: 1, overwrite: 'always' });

    expect(out.failed).toEqual([]);
    expectSameManifest(await manifestOf(outside), outsideBefore);
    // Regular files (not links) with the snapshot's content, mode and mtime; `sub` and `data` too.
    expectSameManifest(await manifestOf(data), await manifestOf(src));

    // Restoring again over the restored files (each one written anew and renamed over the old) changes nothing.
    const again = await restoreSnapshot({ repo, snapshot, target, workers: 1, overwrite: 'always' });
    expect(again.failed).toEqual([]);
    expectSameManifest(await manifestOf(data), await manifestOf(src));
  });

  it('fails a file whose path gets a symlink, hard link or file between the preview and the create, writing nothing through it', async () => {
    const { src, repo, snapshot, outside, outsideBefore, target, data } = await setup();
    // Nothing there when the restore looks (a path in the way is replaced by a rename, never cleared and re-created).
    const planted = join(data, 'small.txt');
    let plantedAtPlanned = false;

    const out = await restoreSnapshot({
      repo,
      snapshot,
      target,
      workers: 1,
      onMilestone: (m) => {
        if (m !== 'planned') return;
        // Not yet created: the worker's O_CREAT|O_EXCL comes next.
        expect(() => lstatSync(planted)).toThrow(/ENOENT/);
        symlinkSync(join(outside, 'v-small'), planted);
        plantedAtPlanned = true;
      },
    });

    expect(plantedAtPlanned).toBe(true);
    expect(out.failed).toEqual([{ path: planted, error: expect.stringMatching(/EEXIST.*nothing was written through it/) }]);
    expectSameManifest(await manifestOf(outside), outsideBefore);
    expect((await lstat(planted)).isSymbolicLink()).toBe(true);
    // Every other file restored as usual.
    const restored = await manifestOf(data);
    restored.delete('small.txt');
    const expected = await manifestOf(src);
    expected.delete('small.txt');
    expectSameManifest(restored, expected);

    // The same for a hard link to an outside file, and for a plain file (O_TRUNC would have written into either).
    for (const [make, label] of [
      [() => linkSync(join(outside, 'v-hard-small'), planted), 'hard link'],
      [() => writeFileSync(planted, 'planted\n'), 'plain file'],
    ] as const) {
      unlinkSync(planted);
      const again = await restoreSnapshot({
        repo,
        snapshot,
        target,
        subPath: 'data/small.txt',
        workers: 1,
        onMilestone: (m) => {
          if (m === 'planned') make();
        },
      });
      expect(again.failed, label).toEqual([{ path: planted, error: expect.stringContaining('EEXIST') }]);
    }
    expectSameManifest(await manifestOf(outside), outsideBefore);
    expect(await readFile(planted, 'utf8')).toBe('planted\n');
  });

  it('fails a multi-blob file replaced while it is being restored by a symlink, a hard link, a FIFO or another file, touching none of them', async () => {
    for (const kind of ['symlink', 'hard link', 'fifo', 'other file'] as const) {
      const { repo, snapshot, outside, outsideBefore, target, data } = await setup();
      const path = join(data, 'big.bin');
      const aside = join(target, 'aside.bin');
      const out = await restoreSnapshot({
        repo,
        snapshot,
        target,
        workers: 1,
        onMilestone: (m) => {
          if (m !== 'planned') return;
          // The restorer created it while planning; the workers reopen it by path to fill it in.
          expect(lstatSync(path).isFile()).toBe(true);
          renameSync(path, aside);
          if (kind === 'symlink') symlinkSync(join(outside, 'v-big'), path);
          else if (kind === 'hard link') linkSync(join(outside, 'v-hard-big'), path);
          else if (kind === 'fifo') execFileSync('mkfifo', ['-m', '600', path]);
          else writeFileSync(path, 'planted\n', { mode: 0o600 });
        },
      });
      expect(out.failed.length, kind).toBeGreaterThan(0);
      expect(new Set(out.failed.map((f) => f.path)), kind).toEqual(new Set([path]));
      expectSameManifest(await manifestOf(outside), outsideBefore);
      if (kind === 'other file') {
        // A regular file of its own (nlink 1) may take the bytes, but never the snapshot's owner, mode or times.
        const st = await lstat(path);
        expect(st.mode & 0o7777).toBe(0o600);
        expect(st.mtimeMs).not.toBe(Date.UTC(2019, 5, 6, 7, 8, 9));
        expect(out.failed[0]?.error).toMatch(/replaced during the restore/);
      }
      if (kind === 'hard link') expect(await readFile(path, 'utf8')).toBe('precious v-hard-big\n');
    }
  });

  it('fails a folder replaced by a symlink after it was created: the folder it points to keeps its owner, mode and mtime', async () => {
    const { repo, snapshot, outside, outsideBefore, target, data } = await setup();
    const sub = join(data, 'sub');
    const out = await restoreSnapshot({
      repo,
      snapshot,
      target,
      workers: 1,
      onMilestone: (m) => {
        if (m !== 'planned') return;
        expect(lstatSync(sub).isDirectory()).toBe(true);
        renameSync(sub, join(target, 'sub-aside'));
        symlinkSync(join(outside, 'folder'), sub);
      },
    });
    expect(out.failed).toEqual([{ path: sub, error: expect.stringMatching(/ENOTDIR.*no longer a directory: replaced during the restore/) }]);
    expectSameManifest(await manifestOf(outside), outsideBefore);
    expect((await lstat(join(outside, 'folder'))).mode & 0o7777).toBe(0o700);
  });
});

describe('applyFileMeta and applyDirMeta', () => {
  const node: TreeNode = { name: 'x', type: 'file', mode: 0o755, mtimeMs: Date.UTC(2020, 0, 1), uid: 4242, gid: 4242 };

  it('fail on a symlink (ELOOP for a file, ENOTDIR for a folder) and change nothing it points to', async () => {
    const base = await tempDir();
    const outside = await victims(base);
    const before = await manifestOf(outside);
    await symlink(join(outside, 'v-small'), join(base, 'file-link'));
    await symlink(join(outside, 'folder'), join(base, 'dir-link'));

    // asRoot true: as root a followed chown would hand the file to uid 4242.
    await expect(applyFileMeta(join(base, 'file-link'), node, true)).rejects.toMatchObject({ code: 'ELOOP' });
    // O_DIRECTORY|O_NOFOLLOW on a symlink: Linux says ENOTDIR, even for a link to a folder.
    await expect(applyDirMeta(join(base, 'dir-link'), { ...node, type: 'dir' }, true)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(applyDirMeta(join(outside, 'v-small'), { ...node, type: 'dir' }, true)).rejects.toMatchObject({ code: 'ENOTDIR' });
    expectSameManifest(await manifestOf(outside), before);
  });

  it('set owner, mode and times on the real thing', async () => {
    const base = await tempDir();
    await writeFile(join(base, 'f'), 'x');
    await mkdir(join(base, 'd'));
    const asRoot = process.getuid?.() === 0;
    await applyFileMeta(join(base, 'f'), node, asRoot);
    await applyDirMeta(join(base, 'd'), { ...node, type: 'dir', mode: 0o711 }, asRoot);
    for (const [name, mode] of [['f', 0o755], ['d', 0o711]] as const) {
      const st = await lstat(join(base, name));
      expect(st.mode & 0o7777).toBe(mode);
      expect(st.mtimeMs).toBe(node.mtimeMs);
      if (asRoot) expect([st.uid, st.gid]).toEqual([4242, 4242]);
    }
  });
});
