/**
 * A backup killed with SIGKILL at several points leaves a repository that
 * checks clean, whose earlier snapshots restore identically, and whose packs
 * the next backup reuses instead of writing them again.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { backupDir, createRepo, openRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = join(repoRoot, 'test/helpers/backup-child.ts');
const tempDir = useTempDirs('crash');

interface PackFiles {
  packs: number;
  temps: number;
  bytes: number;
}

/** Complete packs (and temp files of saves in progress) in a local repository's data/. */
async function packFiles(repoDir: string): Promise<PackFiles> {
  const out: PackFiles = { packs: 0, temps: 0, bytes: 0 };
  for (const fan of await readdir(join(repoDir, 'data'))) {
    // A backup worker writes its pack into data/ itself until the pack is complete (Backend.newPackFile).
    if (fan.startsWith('.tmp-')) {
      out.temps++;
      continue;
    }
    for (const name of await readdir(join(repoDir, 'data', fan)).catch(() => [] as string[])) {
      if (name.startsWith('.tmp-')) out.temps++;
      else {
        out.packs++;
        out.bytes += (await stat(join(repoDir, 'data', fan, name)).catch(() => ({ size: 0 }))).size;
      }
    }
  }
  return out;
}

type KillPoint = { label: string; when: 'started' } | { label: string; when: 'temp' } | { label: string; when: 'packs'; packs: number };

/** Run the backup in a child process and SIGKILL it at `point`; returns how many packs it had added. */
async function backupAndKill(repoDir: string, source: string, point: KillPoint): Promise<number> {
  const before = (await packFiles(repoDir)).packs;
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, repoDir, source], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  let exited = false;
  const done = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => ((exited = true), resolve(signal))));
  for (;;) {
    if (exited) throw new Error(`the backup ended before the kill point "${point.label}": ${lines.join('\n')}\n${stderr}`);
    if (point.when === 'started' && lines.includes('started')) break;
    if (point.when !== 'started') {
      const now = await packFiles(repoDir);
      if (point.when === 'temp' && now.temps > 0) break;
      if (point.when === 'packs' && now.packs - before >= point.packs) break;
    }
    await sleep(2);
  }
  child.kill('SIGKILL');
  expect(await done).toBe('SIGKILL');
  // The killed process could not remove the worker bundle it made for itself (worker-pool.ts).
  return (await packFiles(repoDir)).packs - before;
}

describe('SIGKILL during a backup', () => {
  let base: string;
  let repoDir: string;
  let src: string;
  let first: Snapshot;
  let firstManifest: Manifest;
  let newBytes = 0;
  /** Pack bytes after the first, complete backup (before any kill). */
  let firstPackBytes = 0;

  beforeAll(async () => {
    base = await tempDir();
    repoDir = join(base, 'repo');
    src = join(base, 'src');
    await mkdir(join(src, 'early'), { recursive: true });
    for (let i = 0; i < 8; i++) await writeFile(join(src, 'early', `file-${i}.bin`), randomBytes(1 * MiB + i));
    // Chunks of 64 KiB–1 MiB and packs of 2 MiB: the big backup writes ~30 packs, so kills land mid-way.
    const repo = await createRepo(repoDir, { chunker: { minSize: 64 * KiB, avgSize: 256 * KiB, maxSize: 1 * MiB }, packSize: 2 * MiB });
    first = (await backupDir(repo, src)).snapshot;
    firstManifest = await manifestOf(src);
    firstPackBytes = (await packFiles(repoDir)).bytes;
    // Then ~60 MiB of new random data that the killed backups try to store.
    await mkdir(join(src, 'bulk/a/b'), { recursive: true });
    for (let i = 0; i < 30; i++) {
      const size = 1 * MiB + ((i * 37 * KiB) % MiB) + i;
      newBytes += size;
      await writeFile(join(src, i % 3 === 0 ? 'bulk' : 'bulk/a/b', `part-${i}.bin`), randomBytes(size));
    }
  });

  const points: KillPoint[] = [
    { label: 'very early, right after the repository is open', when: 'started' },
    { label: 'after 2 packs', when: 'packs', packs: 2 },
    { label: 'while a pack is being saved', when: 'temp' },
    { label: 'after 8 packs', when: 'packs', packs: 8 },
  ];
  let packsByKilled = 0;

  it.each(points)('killed $label: check passes, earlier snapshots restore identically', async (point) => {
    const added = await backupAndKill(repoDir, src, point);
    if (point.when === 'packs') expect(added).toBeGreaterThanOrEqual(point.packs);
    packsByKilled += added;

    const repo = await openRepo(repoDir);
    const check = await checkRepository({ repo, readData: 1, workers: 2 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
    expect(check.snapshots).toBe(1);
    expect(check.packsRead).toBe(check.packs);
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([first.id]);

    const target = join(base, `restore-${points.indexOf(point)}`);
    const restored = await restoreSnapshot({ repo, snapshot: first, target, workers: 2 });
    expect(restored.failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), firstManifest);
    await rm(target, { recursive: true });
  });

  it('the next backup completes, reusing what the killed ones wrote, and everything restores', async () => {
    expect(packsByKilled).toBeGreaterThanOrEqual(10);
    const repo = await openRepo(repoDir);
    // What the killed backups wrote (all of it complete packs: temp files are not counted).
    const reused = (await packFiles(repoDir)).bytes - firstPackBytes;
    const out = await backupDir(repo, src, { parent: first });
    expect(out.fileErrors).toEqual([]);
    expect(out.orphansRecovered.packs).toBeGreaterThan(0);
    // A full first backup of random data stores at least its size; this one stores only what is missing.
    expect(reused).toBeGreaterThan(15 * MiB);
    expect(out.snapshot.stats.bytesStored).toBeLessThan(newBytes - reused + 2 * MiB);
    expect(out.snapshot.stats.bytesStored).toBeLessThan(newBytes);
    expect(out.progress.filesUnchanged).toBe(8);
    // Nothing was stored twice.
    expect((await packFiles(repoDir)).bytes).toBeLessThan((newBytes + 8 * MiB) * 1.02 + 1 * MiB);

    const after = await openRepo(repoDir);
    const check = await checkRepository({ repo: after, readData: 1, workers: 2 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
    expect(check.unindexedPacks).toBe(0);
    for (const [snapshot, manifest] of [
      [first, firstManifest],
      [out.snapshot, await manifestOf(src)],
    ] as const) {
      const target = join(base, `final-${snapshot.id.slice(0, 8)}`);
      expect((await restoreSnapshot({ repo: after, snapshot, target, workers: 2 })).failed).toEqual([]);
      expectSameManifest(await manifestOf(join(target, 'data')), manifest);
      await rm(target, { recursive: true });
    }
  });
});
