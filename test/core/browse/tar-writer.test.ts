/**
 * The pax tar writer against an independent reader (GNU tar): names past the
 * ustar limit, non-ASCII and newline names and link targets, empty files,
 * files of exactly one block, a content source that fails half-way (the
 * archive stays readable, the entry zero-filled) or runs long (cut at the
 * recorded size).
 */
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarWriter } from '../../../src/core/browse/tar-writer.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('tar-writer');

async function* chunks(...parts: (string | Error)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    if (p instanceof Error) throw p;
    yield Buffer.from(p);
  }
}

async function archive(build: (tar: TarWriter) => Promise<void>, parts: Uint8Array[] = []): Promise<{ file: string; dir: string }> {
  const dir = await tempDir();
  const tar = new TarWriter(async (c) => void parts.push(Buffer.from(c)));
  await build(tar);
  await tar.finish();
  const bytes = Buffer.concat(parts);
  expect(bytes.length % 512).toBe(0);
  expect(tar.bytes).toBe(bytes.length);
  const file = join(dir, 'out.tar');
  await writeFile(file, bytes);
  const into = join(dir, 'x');
  await mkdir(into);
  const res = spawnSync('tar', ['-xf', file, '-C', into], { encoding: 'utf8' });
  expect(res.status, res.stderr).toBe(0);
  return { file, dir: into };
}

const meta = { mode: 0o640, mtimeMs: Date.UTC(2026, 0, 2, 3, 4, 5) };

describe('TarWriter', () => {
  it('writes long, non-ASCII and newline names and link targets through pax headers', async () => {
    const longName = `${'folder-'.repeat(20)}/${'é'.repeat(80)}.txt`;
    const longTarget = `../${'t'.repeat(150)}`;
    const { dir } = await archive(async (tar) => {
      await tar.directory('top', { mode: 0o755, mtimeMs: meta.mtimeMs });
      await tar.directory(`top/${'folder-'.repeat(20)}`, { mode: 0o700, mtimeMs: meta.mtimeMs });
      expect(await tar.file(`top/${longName}`, 5, meta, chunks('he', 'llo'))).toBeUndefined();
      expect(await tar.file('top/line\nbreak 日本.txt', 0, meta, chunks())).toBeUndefined();
      expect(await tar.file('top/block.bin', 512, meta, chunks('x'.repeat(512)))).toBeUndefined();
      await tar.symlink('top/link', longTarget, { mode: 0o777, mtimeMs: meta.mtimeMs });
      await tar.directory('top/empty', { mode: 0o750, mtimeMs: meta.mtimeMs });
    });
    expect(await readFile(join(dir, 'top', longName), 'utf8')).toBe('hello');
    const st = await lstat(join(dir, 'top', longName));
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.mtimeMs).toBe(meta.mtimeMs);
    expect(await readFile(join(dir, 'top/line\nbreak 日本.txt'), 'utf8')).toBe('');
    expect((await readFile(join(dir, 'top/block.bin'))).length).toBe(512);
    expect(await readlink(join(dir, 'top/link'))).toBe(longTarget);
    expect((await lstat(join(dir, 'top/empty'))).isDirectory()).toBe(true);
  });

  it('keeps the archive readable when a file\'s content fails half-way or runs long', async () => {
    let failed: Error | undefined;
    let long: Error | undefined;
    const { dir } = await archive(async (tar) => {
      failed = await tar.file('damaged.bin', 1000, meta, chunks('abc', new Error('blob 1234 is damaged')));
      long = await tar.file('long.txt', 3, meta, chunks('abcdef'));
      await tar.file('after.txt', 2, meta, chunks('ok'));
    });
    expect(failed?.message).toBe('blob 1234 is damaged');
    expect(long?.message).toContain('longer than the 3 bytes');
    const damaged = await readFile(join(dir, 'damaged.bin'));
    expect(damaged.length).toBe(1000);
    expect(damaged.subarray(0, 3).toString()).toBe('abc');
    expect(damaged.subarray(3).every((b) => b === 0)).toBe(true);
    expect(await readFile(join(dir, 'long.txt'), 'utf8')).toBe('abc');
    expect(await readFile(join(dir, 'after.txt'), 'utf8')).toBe('ok');
  });

  it('gathers small entries into few writes, and a large chunk goes out on its own after what came before it', async () => {
    const parts: Uint8Array[] = [];
    const big = Buffer.alloc(200_000, 0x61);
    const { dir } = await archive(async (tar) => {
      await tar.directory('many', { mode: 0o755, mtimeMs: meta.mtimeMs });
      for (let i = 0; i < 2000; i++) await tar.file(`many/f${i}.txt`, String(i).length, meta, chunks(String(i)));
      await tar.file('big.bin', big.length, meta, chunks(big.toString()));
      await tar.file('last.txt', 4, meta, chunks('last'));
    }, parts);
    // 2,001 headers and 2,000 paddings of 512 bytes (~2 MB) plus the big file: one write per entry part would be ~6,000.
    expect(parts.length).toBeLessThanOrEqual(12);
    expect(parts.some((p) => p.length === big.length)).toBe(true);
    expect(await readFile(join(dir, 'many/f1999.txt'), 'utf8')).toBe('1999');
    expect(await readFile(join(dir, 'big.bin'))).toEqual(big);
    expect(await readFile(join(dir, 'last.txt'), 'utf8')).toBe('last');
  });
});
