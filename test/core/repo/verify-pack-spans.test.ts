/**
 * check --read-data verifies a local pack file a window at a time (header
 * from the end, then the blobs in order, hashed as they go by) instead of
 * reading it whole: the answer must be the one the whole-pack verification
 * gives, on a good pack and on each kind of damage, for packs that hold
 * blobs larger than the read window and many small ones.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, truncate, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerPool, localPackPath } from '../../../src/core/repo/worker-pool.js';
import { backupDir, createRepo, openRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('verify-pack-spans');
const KiB = 1024;
const MiB = 1024 * KiB;

async function xorByteAt(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0x40;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

describe('verifying a pack file in windows', () => {
  it('gives the whole-pack answer for a good pack, a flipped blob byte, a flipped header byte and a cut pack', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'small'), { recursive: true });
    // Chunks of 3–8 MiB, all longer than the 2 MiB window, and 300 one-blob files of 2–9 KiB.
    await writeFile(join(src, 'big.bin'), randomBytes(14 * MiB));
    for (let i = 0; i < 300; i++) await writeFile(join(src, 'small', `f${i}`), randomBytes(2 * KiB + i * 23));
    const repoDir = join(base, 'repo');
    await backupDir(await createRepo(repoDir, { chunker: { minSize: 3 * MiB, avgSize: 4 * MiB, maxSize: 8 * MiB }, packSize: 8 * MiB }), src, { workers: 1 });
    const repo = await openRepo(repoDir);
    const pool = new WorkerPool(repo, { workers: 1 });
    try {
      const packs: string[] = [];
      for await (const p of repo.backend.list('data')) packs.push(p.name);
      expect(packs.length).toBeGreaterThan(1);
      const compare = async (pack: string, path: string) => {
        const windowed = await pool.verifyPackFile(pack, path);
        const whole = await pool.verifyPack(pack, await readFile(path));
        expect(windowed).toEqual(whole);
        return windowed!;
      };
      let sawBig = false;
      let sawMany = false;
      for (const pack of packs) {
        const result = await compare(pack, localPackPath(repo.backend, pack)!);
        expect(result.hashOk).toBe(true);
        expect(result.damaged).toEqual([]);
        expect(result.headerError).toBeUndefined();
        if (result.blobs.some((b) => b.length > 2 * MiB)) sawBig = true;
        if (result.blobs.length > 100) sawMany = true;
      }
      expect(sawBig && sawMany).toBe(true);

      // Damage, each to a copy of the largest pack.
      const sizes = await Promise.all(packs.map(async (p) => ({ p, size: (await readFile(localPackPath(repo.backend, p)!)).length })));
      const { p: pack } = sizes.sort((a, b) => b.size - a.size)[0]!;
      const original = localPackPath(repo.backend, pack)!;
      const good = await compare(pack, original);
      const lastBlob = good.blobs.at(-1)!;
      const headerAt = lastBlob.offset + lastBlob.length;
      const damaged = async (name: string, damage: (path: string) => Promise<void>) => {
        const path = join(base, name);
        await copyFile(original, path);
        await damage(path);
        return compare(pack, path);
      };
      const inBlob = await damaged('blob-byte', (p) => xorByteAt(p, good.blobs[0]!.offset + 1000));
      expect(inBlob.hashOk).toBe(false);
      expect(inBlob.damaged.map((d) => d.id)).toEqual([good.blobs[0]!.id]);
      const inHeader = await damaged('header-byte', (p) => xorByteAt(p, headerAt + 5));
      expect(inHeader.hashOk).toBe(false);
      expect(inHeader.headerError).toBeDefined();
      const cut = await damaged('cut', (p) => truncate(p, headerAt - 10));
      expect(cut.hashOk).toBe(false);
      expect(cut.headerError).toBeDefined();
      const tiny = await damaged('tiny', (p) => truncate(p, 3));
      expect(tiny.headerError).toBeDefined();
    } finally {
      await pool.close();
    }
  });
});
