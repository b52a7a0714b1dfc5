/**
 * The memory-saving paths of the engine give the same answers as the plain
 * ones: packs built in place (whole-size buffers, spares, compressing aside at
 * the end of a buffer), decompression into a reused scratch buffer, and packs
 * that workers read from a local repository's files themselves versus packs
 * the main thread loads through any other backend.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/core/backends/backend.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { DecompressScratch } from '../../../src/core/repo/compress.js';
import { blobIdOf, generateMasterKey } from '../../../src/core/repo/crypto.js';
import { PackBuilder, openBlob, parsePackHeader, type FinishedPack } from '../../../src/core/repo/pack.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { localPackPath } from '../../../src/core/repo/worker-pool.js';
import { TEST_PASSWORD, backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { flipPackByte } from '../../helpers/flip-pack-byte.js';

const KiB = 1024;
const tempDir = useTempDirs('memory-paths');

/** Text-like bytes that zstd shrinks a lot. */
function text(n: number, seed: number): Buffer {
  const words = ['lifeboat', 'backup', 'restore', 'pack', 'blob', 'snapshot', 'index', 'check'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 7 + seed) % words.length] + (i % 13 === 0 ? '\n' : ' ');
  return Buffer.from(s.slice(0, n));
}

/** Delegates to a local backend without being one, so the engine takes the main-thread load path. */
function opaque(inner: Backend): Backend {
  return {
    location: inner.location,
    save: (h, d, o) => inner.save(h, d, o),
    load: (h, r) => inner.load(h, r),
    stat: (h) => inner.stat(h),
    list: (k) => inner.list(k),
    remove: (h) => inner.remove(h),
    create: () => inner.create(),
    exists: () => inner.exists(),
    close: () => inner.close(),
  };
}

describe('pack builder with whole-size buffers', () => {
  const key = { ...generateMasterKey(), bindKinds: true };

  it('fills pack after pack, reuses handed-back buffers, and every blob reads back with the right compressed flag', () => {
    const capacity = 256 * KiB;
    const builder = new PackBuilder(key, 3, capacity, { fullSize: true });
    const blobs = Array.from({ length: 40 }, (_, i) => {
      const bytes = i % 3 === 0 ? randomBytes(30 * KiB + i) : i % 3 === 1 ? text(30 * KiB + i * 100, i) : Buffer.from(`tiny ${i}`);
      return { bytes, id: blobIdOf(key.mac, bytes).toString('hex'), kind: i % 3 === 0 ? 'random' : i % 3 === 1 ? 'text' : 'tiny' };
    });
    const packs: FinishedPack[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const finish = () => {
      const pack = builder.finish()!;
      // A copy of the bytes: the buffer goes back to the builder for the next pack.
      packs.push({ ...pack, bytes: Buffer.from(pack.bytes) });
      buffers.add(pack.bytes.buffer);
      builder.provide(Buffer.from(pack.bytes.buffer));
    };
    for (const b of blobs) {
      if (!builder.add('data', b.id, b.bytes)) {
        finish();
        expect(builder.add('data', b.id, b.bytes)).toBeDefined();
      }
      if (builder.byteSize >= 100 * KiB) finish();
    }
    finish();
    expect(packs.length).toBeGreaterThan(2);
    expect(buffers.size).toBe(1); // one buffer, handed back and reused for every pack
    expect(packs.every((p) => p.bytes.length <= capacity)).toBe(true);

    const byId = new Map(blobs.map((b) => [b.id, b.bytes]));
    const kindOf = new Map(blobs.map((b) => [b.id, b.kind]));
    let seen = 0;
    for (const pack of packs) {
      for (const loc of parsePackHeader(key, pack.id, pack.bytes, pack.bytes.length)) {
        const plain = openBlob(key, loc, pack.bytes.subarray(loc.offset, loc.offset + loc.length));
        expect(Buffer.isBuffer(plain) && plain.equals(byId.get(loc.id)!)).toBe(true);
        // Random bytes and tiny blobs are stored raw, text compressed.
        expect(loc.compressed).toBe(kindOf.get(loc.id) === 'text');
        seen++;
      }
    }
    expect(seen).toBe(blobs.length);
  });

  it('a blob larger than the capacity gets a pack of its own', () => {
    const builder = new PackBuilder(key, 3, 64 * KiB, { fullSize: true });
    const small = text(10 * KiB, 1);
    const big = randomBytes(200 * KiB);
    expect(builder.add('data', blobIdOf(key.mac, small).toString('hex'), small)).toBeDefined();
    expect(builder.add('data', blobIdOf(key.mac, big).toString('hex'), big)).toBeUndefined();
    builder.finish();
    const entry = builder.add('data', blobIdOf(key.mac, big).toString('hex'), big)!;
    expect(entry.compressed).toBe(false);
    const pack = builder.finish()!;
    const [loc] = parsePackHeader(key, pack.id, pack.bytes, pack.bytes.length);
    expect((openBlob(key, loc!, pack.bytes.subarray(loc!.offset, loc!.offset + loc!.length)) as Buffer).equals(big)).toBe(true);
  });
});

describe('DecompressScratch', () => {
  const key = { ...generateMasterKey(), bindKinds: true };

  it('gives the same bytes as a fresh buffer, reuses its buffer, and a frame declaring another size than the index is refused', () => {
    const builder = new PackBuilder(key, 3, 1024 * KiB);
    const a = text(100 * KiB, 2);
    const b = text(60 * KiB, 3);
    for (const bytes of [a, b]) builder.add('data', blobIdOf(key.mac, bytes).toString('hex'), bytes);
    const pack = builder.finish()!;
    const [la, lb] = parsePackHeader(key, pack.id, pack.bytes, pack.bytes.length);
    expect(la!.compressed && lb!.compressed).toBe(true);
    const scratch = new DecompressScratch();
    const sealed = (l: typeof la) => pack.bytes.subarray(l!.offset, l!.offset + l!.length);
    const pa = openBlob(key, la!, sealed(la), scratch) as Buffer;
    expect(pa.equals(a)).toBe(true);
    const pb = openBlob(key, lb!, sealed(lb), scratch) as Buffer;
    expect(pb.equals(b)).toBe(true);
    expect(pb.buffer).toBe(pa.buffer); // the same scratch memory, valid until the next call
    expect(openBlob(key, { ...la!, rawLength: a.length + 1 }, sealed(la), scratch)).toBe(`declares ${a.length} bytes, expected ${a.length + 1}`);
  });
});

describe('packs read by the workers from a local repository', () => {
  it('check --read-data and restore give the same results as through a backend the workers cannot read, also with a damaged pack', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'docs'), { recursive: true });
    for (let i = 0; i < 30; i++) await writeFile(join(src, 'docs', `f${i}.txt`), i % 2 ? text(20 * KiB + i, i) : randomBytes(15 * KiB + i));
    await writeFile(join(src, 'big.bin'), Buffer.concat([randomBytes(300 * KiB), text(300 * KiB, 9)]));
    const repoDir = join(base, 'repo');
    const repo = await createRepo(repoDir, smallRepo);
    await repo.loadIndex();
    const { snapshot } = await backupDir(repo, src);

    const local = await Repository.open(new LocalBackend(repoDir), TEST_PASSWORD);
    const other = await Repository.open(opaque(new LocalBackend(repoDir)), TEST_PASSWORD);
    await local.loadIndex();
    await other.loadIndex();
    expect(localPackPath(local.backend, 'ab'.repeat(32))).toBe(join(repoDir, 'data', 'ab', 'ab'.repeat(32)));
    expect(localPackPath(other.backend, 'ab'.repeat(32))).toBeUndefined();

    const packFiles = (await readdir(join(repoDir, 'data'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(packFiles.length).toBeGreaterThan(1);
    const sound = await checkRepository({ repo: local, readData: 1, workers: 2 });
    expect(sound.damaged).toEqual([]);
    expect(sound.errors).toEqual([]);
    expect(sound.packsRead).toBe(packFiles.length);
    expect(sound).toEqual(await checkRepository({ repo: other, readData: 1, workers: 2 }));

    // Restore through both paths: identical trees, identical to the source.
    for (const [name, r] of [['local', local], ['other', other]] as const) {
      const target = join(base, `restore-${name}`);
      const out = await restoreSnapshot({ repo: r, snapshot, target, workers: 2 });
      expect(out.failed).toEqual([]);
      expect(await readFile(join(target, 'data', 'big.bin'))).toEqual(await readFile(join(src, 'big.bin')));
      for (let i = 0; i < 30; i += 7) expect(await readFile(join(target, 'data', 'docs', `f${i}.txt`))).toEqual(await readFile(join(src, 'docs', `f${i}.txt`)));
    }

    // Flip a byte inside big.bin's first chunk: both paths name the same pack, problems and file.
    const bigNode = (await local.loadTree((await local.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!)).nodes.find((n) => n.name === 'big.bin')!;
    const loc = local.index.lookup(bigNode.content![0]!)!;
    await flipPackByte(repoDir, loc, 0x04);
    const damagedLocal = await checkRepository({ repo: local, readData: 1, workers: 2 });
    expect(damagedLocal.damaged.map((d) => d.pack)).toEqual([loc.pack]);
    expect(damagedLocal.damaged[0]!.affectedFiles).toEqual([`${snapshot.id.slice(0, 8)}:data/big.bin`]);
    expect(damagedLocal).toEqual(await checkRepository({ repo: other, readData: 1, workers: 2 }));
    for (const [name, r] of [['local', local], ['other', other]] as const) {
      const out = await restoreSnapshot({ repo: r, snapshot, target: join(base, `damaged-${name}`), workers: 2 });
      expect([...new Set(out.failed.map((f) => f.path))]).toEqual([join(base, `damaged-${name}`, 'data', 'big.bin')]);
    }
  });
});
