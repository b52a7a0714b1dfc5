/**
 * A validating restore (a drill's): every file is re-read from disk once
 * complete, while the rest is restored, and hashed against the snapshot's
 * blob ids. The re-read must see the bytes on disk, not what the restore
 * meant to write: a byte changed after the file's last write, a file cut
 * short or one grown, each fails that file and only that file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { planSnapshot } from '../../../src/core/repo/snapshot-plan.js';
import { backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { resealWithChangedPlaintext } from '../../helpers/reseal-blob.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-validation');
const KiB = 1024;

async function flipByteAt(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0x01;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

describe('validating restore', () => {
  it('re-reads every restored file (multi-blob, one-blob, empty) and reports only the ones changed on disk after their last write', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'small'), { recursive: true });
    // Many blobs over several packs (smallRepo: small chunks and packs), and one-blob files.
    const big = randomBytes(600 * KiB);
    await writeFile(join(src, 'big.bin'), big);
    // The same blobs in two files (each blob is written into both, each file checked on its own).
    await writeFile(join(src, 'big-copy.bin'), big);
    await writeFile(join(src, 'big-flipped.bin'), randomBytes(500 * KiB));
    for (let i = 0; i < 40; i++) await writeFile(join(src, 'small', `f${i}.txt`), `small file ${i}\n`.repeat(i + 1));
    await writeFile(join(src, 'empty'), '');

    const repoDir = join(base, 'repo');
    const { snapshot } = await backupDir(await createRepo(repoDir, smallRepo), src, { workers: 2 });
    const repo = await openRepo(repoDir);
    const plan = await planSnapshot(repo, snapshot);
    expect(plan.files.find((f) => f.rel === 'data/big-flipped.bin')!.locs.length).toBeGreaterThan(3);
    const contentOf = (rel: string) => plan.files.find((f) => f.rel === rel)!.node.content;
    expect(contentOf('data/big-copy.bin')).toEqual(contentOf('data/big.bin'));

    // A good restore: every file re-read, none reported.
    const good = await restoreSnapshot({ repo, snapshot, plan, target: join(base, 'good'), workers: 2, validate: {} });
    expect(good.failed).toEqual([]);
    expect(good.validation).toEqual({ validated: plan.files.length, invalid: [] });

    // Damage between each file's last write and its re-read: one byte deep inside a
    // multi-blob file, one byte of a one-blob file, a file cut short, an empty file grown.
    const target = join(base, 'damaged');
    const seen = new Set<string>();
    const damaged = await restoreSnapshot({
      repo,
      snapshot,
      plan,
      target,
      workers: 2,
      validate: {
        beforeRead: async (paths) => {
          for (const path of paths) {
            seen.add(path);
            if (path.endsWith('/big-flipped.bin')) await flipByteAt(path, 400 * KiB + 7);
            if (path.endsWith('/big-copy.bin')) await flipByteAt(path, 100 * KiB + 3);
            if (path.endsWith('/small/f7.txt')) await flipByteAt(path, 3);
            if (path.endsWith('/small/f9.txt')) await truncate(path, 5);
            if (path.endsWith('/empty')) await appendFile(path, 'x');
          }
        },
      },
    });
    expect(seen.size).toBe(plan.files.length);
    expect(damaged.failed).toEqual([]);
    const invalid = new Map(damaged.validation!.invalid.map((f) => [f.path.slice(target.length + 1), f.problem]));
    expect([...invalid.keys()].sort()).toEqual(['data/big-copy.bin', 'data/big-flipped.bin', 'data/empty', 'data/small/f7.txt', 'data/small/f9.txt']);
    expect(invalid.get('data/big-flipped.bin')).toMatch(/^does not match the snapshot \(bytes \d+-\d+ are not blob [0-9a-f]{12}\)$/);
    expect(invalid.get('data/small/f7.txt')).toMatch(/^does not match the snapshot \(bytes 0-\d+ are not blob [0-9a-f]{12}\)$/);
    expect(invalid.get('data/small/f9.txt')).toBe(`does not match the snapshot (5 bytes restored, ${'small file 9\n'.repeat(10).length} expected)`);
    expect(invalid.get('data/empty')).toBe('does not match the snapshot (1 bytes restored, 0 expected)');
    expect(damaged.validation!.validated).toBe(plan.files.length);

    // Over what the target holds (--overwrite always): each replacement is re-read at its
    // temporary name, before it is renamed over the old file, and only there.
    const over = join(base, 'over');
    await mkdir(join(over, 'data', 'small'), { recursive: true });
    await writeFile(join(over, 'data', 'small', 'f3.txt'), 'an older f3\n');
    const reRead: string[] = [];
    const replaced = await restoreSnapshot({ repo, snapshot, plan, target: over, workers: 2, overwrite: 'always', validate: { beforeRead: async (paths) => void reRead.push(...paths) } });
    expect(replaced.failed).toEqual([]);
    expect(replaced.validation).toEqual({ validated: plan.files.length, invalid: [] });
    expect(reRead).toHaveLength(plan.files.length);
    const temps = reRead.filter((p) => !plan.files.some((f) => p === join(over, f.rel)));
    expect(temps).toHaveLength(1);
    expect(temps[0]!.startsWith(join(over, 'data', 'small', '.lifeboat-restore-'))).toBe(true);
    expect(reRead).not.toContain(join(over, 'data', 'small', 'f3.txt'));
  });
});

describe('re-read batches', () => {
  it('are out at most two per worker at once; the rest wait until one is answered, and every file is re-read', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'many'), { recursive: true });
    // One-blob files only: each is counted as restored when its blob is written, so the restore's
    // progress says when all are written (and complete) while no re-read has been answered yet.
    for (let i = 0; i < 1100; i++) await writeFile(join(src, 'many', `f${i}`), `file ${i}\n`);
    const repoDir = join(base, 'repo');
    const { snapshot } = await backupDir(await createRepo(repoDir, smallRepo), src, { workers: 2 });
    const repo = await openRepo(repoDir);

    let release!: () => void;
    const written = new Promise<void>((resolve) => (release = resolve));
    let out = 0;
    let mostOut = 0;
    let outWhenWritten = -1;
    const result = await restoreSnapshot({
      repo,
      snapshot,
      target: join(base, 'target'),
      workers: 2,
      onProgress: (p) => {
        if (p.files === p.totalFiles && outWhenWritten < 0) {
          outWhenWritten = out;
          release();
        }
      },
      validate: {
        // Every batch sent waits here until all files are written: the old way had all of them (9) out.
        beforeRead: async () => {
          mostOut = Math.max(mostOut, ++out);
          await written;
          out--;
        },
      },
    });
    expect(result.failed).toEqual([]);
    expect(result.validation).toEqual({ validated: 1100, invalid: [] });
    expect(outWhenWritten).toBe(4);
    expect(mostOut).toBe(4);
  });
});

/**
 * A blob re-sealed under the repository's key with one byte of its plaintext
 * changed (MAC valid, content not its id's): a drill's restore no longer hashes
 * the plaintext against the id itself (RestoreBlobJob.idCheckedOnReRead), so
 * the re-read must catch it and name the file, the bytes and the blob; a plain
 * restore still refuses to write it.
 */
describe('a blob whose MAC verifies but whose content is not its id', () => {
  it('fails a validating restore at the re-read (file, bytes, blob named) and a plain restore before writing', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src, { recursive: true });
    // Random bytes are stored uncompressed, so the re-sealed blob keeps its length.
    await writeFile(join(src, 'one.bin'), randomBytes(1500));
    await writeFile(join(src, 'multi.bin'), randomBytes(200 * KiB));
    await writeFile(join(src, 'intact.txt'), 'left alone\n');
    const repoDir = join(base, 'repo');
    const { snapshot } = await backupDir(await createRepo(repoDir, smallRepo), src, { workers: 2 });
    const repo = await openRepo(repoDir);
    const plan = await planSnapshot(repo, snapshot);
    const one = plan.files.find((f) => f.rel === 'data/one.bin')!;
    const multi = plan.files.find((f) => f.rel === 'data/multi.bin')!;
    expect(one.locs).toHaveLength(1);
    expect(multi.locs.length).toBeGreaterThan(3);
    const bad = [one.locs[0]!, multi.locs[2]!];
    for (const loc of bad) await resealWithChangedPlaintext(repo, loc);
    const start = multi.locs.slice(0, 2).reduce((n, l) => n + l.rawLength, 0);

    const drillTarget = join(base, 'drill');
    const validating = await restoreSnapshot({ repo, snapshot, plan, target: drillTarget, workers: 2, validate: {} });
    expect(validating.failed).toEqual([]);
    expect(validating.validation!.validated).toBe(plan.files.length);
    const invalid = new Map(validating.validation!.invalid.map((f) => [f.path.slice(drillTarget.length + 1), f.problem]));
    expect([...invalid.keys()].sort()).toEqual(['data/multi.bin', 'data/one.bin']);
    expect(invalid.get('data/one.bin')).toBe(`does not match the snapshot (bytes 0-1500 are not blob ${bad[0]!.id.slice(0, 12)})`);
    expect(invalid.get('data/multi.bin')).toBe(`does not match the snapshot (bytes ${start}-${start + bad[1]!.rawLength} are not blob ${bad[1]!.id.slice(0, 12)})`);

    const plainTarget = join(base, 'plain');
    const restored = await restoreSnapshot({ repo, snapshot, plan, target: plainTarget, workers: 2 });
    expect(restored.validation).toBeUndefined();
    const failed = new Map(restored.failed.map((f) => [f.path.slice(plainTarget.length + 1), f.error]));
    expect([...failed.keys()].sort()).toEqual(['data/multi.bin', 'data/one.bin']);
    expect(failed.get('data/one.bin')).toBe(`blob ${bad[0]!.id.slice(0, 12)} content does not match its id`);
    expect(failed.get('data/multi.bin')).toBe(`blob ${bad[1]!.id.slice(0, 12)} content does not match its id`);
  });
});
