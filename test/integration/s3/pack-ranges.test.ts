/**
 * Several ranges of one object in one GET (Backend.loadRanges), as a restore
 * reads a pack's spans (src/core/repo/pack-span-reads.ts): each range arrives
 * whole and exact in a buffer of its own, the bytes between are dropped, a
 * connection cut part-way is retried for the ranges not handed over yet (none
 * twice), and an answer that is not exactly the span asked for is refused.
 * And planning a restore reads the snapshot's trees a level at a time, not one
 * GET each (tree-read-ahead.ts), trusting none of them more than a load.
 * Real s3rver behind the loopback proxy that cuts and bends answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ByteRange } from '../../../src/core/backends/backend.js';
import { RetryBackend } from '../../../src/core/backends/retry-backend.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { LifeboatError } from '../../../src/core/errors.js';
import { spanBufferCounts, spanBufferOf } from '../../../src/core/backends/span-buffers.js';
import { PackSpanReader } from '../../../src/core/repo/pack-span-reads.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { planSnapshot } from '../../../src/core/repo/snapshot-plan.js';
import { backupDir, smallRepo, TEST_PASSWORD, testScrypt } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { startFlakyProxy, type FlakyProxy, type ProxyFault, type ProxyRequest } from '../../helpers/flaky-proxy.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { MiB } from './harness.js';

let server: RunningS3rver;
let proxy: FlakyProxy;
let backend: S3Backend;
const pack = randomBytes(4 * MiB);
const name = randomBytes(32).toString('hex');
const handle = { kind: 'data' as const, name };
/** Three ranges with gaps between (and before the first). */
const ranges: ByteRange[] = [
  { offset: 100, length: MiB },
  { offset: MiB + 600_000, length: MiB + 7 },
  { offset: 3 * MiB + 1, length: 500_000 },
];
/** GETs of the pack the proxy saw since the last reset, with the fault each got. */
let gets: { seq: number; fault: ProxyFault['type'] }[] = [];
const tempDir = useTempDirs('s3-pack-ranges');

function planned(fault: (r: ProxyRequest, nth: number) => ProxyFault | undefined): void {
  gets = [];
  proxy.resetStats();
  proxy.plan = (r) => {
    if (r.method !== 'GET' || !r.url.includes(name)) return undefined;
    const f = fault(r, gets.length + 1);
    gets.push({ seq: r.seq, fault: f?.type ?? 'pass' });
    return f;
  };
}

async function collect(from: { loadRanges?: S3Backend['loadRanges'] }, asked: readonly ByteRange[] = ranges): Promise<{ index: number; bytes: Buffer }[]> {
  const got: { index: number; bytes: Buffer }[] = [];
  await from.loadRanges!(handle, asked, async (index, bytes) => {
    got.push({ index, bytes });
  });
  return got;
}

function expectExact(got: { index: number; bytes: Buffer }[]): void {
  expect(got.map((g) => g.index)).toEqual(ranges.map((_, i) => i));
  for (const { index, bytes } of got) {
    const r = ranges[index]!;
    expect(bytes.equals(pack.subarray(r.offset, r.offset + r.length)), `range ${index}`).toBe(true);
    // Its own memory, so it can be transferred to a worker without a copy: exactly its bytes, or the
    // first bytes of a span buffer (span-buffers.ts) for span-sized ranges.
    expect(bytes.byteOffset).toBe(0);
    if (bytes.buffer.byteLength !== r.length) expect(spanBufferOf(bytes)).toBe(bytes.buffer);
  }
  expect(new Set(got.map((g) => g.bytes.buffer)).size).toBe(got.length);
}

beforeAll(async () => {
  server = await startS3rver();
  proxy = await startFlakyProxy(server.endpoint);
  backend = new S3Backend(`s3://${server.bucket}/ranges`, { endpoint: proxy.endpoint, pathStyle: true, credentials: s3rverCredentials });
  await backend.save(handle, pack);
}, 60_000);

afterAll(async () => {
  await backend?.close();
  await proxy?.stop();
  await server?.stop();
});

describe('S3 loadRanges', () => {
  it('reads every range of the pack in one GET, exactly, each in a buffer of its own', async () => {
    planned(() => undefined);
    expectExact(await collect(backend));
    expect(gets).toHaveLength(1);
  });

  it('after a connection cut part-way, asks again only for the ranges not handed over, none twice', async () => {
    // The answer starts at the first range's offset: cut inside the second range.
    planned((_, nth) => (nth === 1 ? { type: 'drop-response', afterBytes: MiB + 700_000 } : undefined));
    const retrying = new RetryBackend(backend, { baseDelayMs: 1, maxDelayMs: 2 });
    const got = await collect(retrying);
    expectExact(got);
    expect(gets.map((g) => g.fault)).toEqual(['drop-response', 'pass']);
    expect(retrying.retryStats().byOperation.load).toBe(1);
  });

  it('a read that fails while the caller still holds a range (the socket idle meanwhile) is retried from the range after it, none twice', async () => {
    planned(() => undefined);
    const impatient = new S3Backend(`s3://${server.bucket}/ranges`, { endpoint: proxy.endpoint, pathStyle: true, credentials: s3rverCredentials, idleTimeoutMs: 300 });
    const retrying = new RetryBackend(impatient, { baseDelayMs: 1, maxDelayMs: 2 });
    const got: { index: number; bytes: Buffer }[] = [];
    try {
      await retrying.loadRanges!(handle, ranges, async (index, bytes) => {
        // The first range is held past the idle timeout: the answer's socket times out meanwhile.
        if (index === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
        got.push({ index, bytes });
      });
    } finally {
      await impatient.close();
    }
    expectExact(got);
    expect(gets).toHaveLength(2);
    expect(retrying.retryStats().byOperation.load).toBe(1);
  });

  it("an error of the caller's ends the read at once and is not retried", async () => {
    planned(() => undefined);
    const retrying = new RetryBackend(backend, { baseDelayMs: 1, maxDelayMs: 2 });
    const mine = new LifeboatError('BACKEND_UNAVAILABLE', 'the caller gave up', { retryable: true });
    const seen: number[] = [];
    await expect(
      retrying.loadRanges!(handle, ranges, async (index) => {
        seen.push(index);
        throw mine;
      }),
    ).rejects.toBe(mine);
    expect(seen).toEqual([0]);
    expect(gets).toHaveLength(1);
    expect(retrying.retries).toBe(0);
  });

  it('refuses an answer that ignored the range, or sent more than asked for', async () => {
    const asked = ranges[2]!.offset + ranges[2]!.length - ranges[0]!.offset;
    planned(() => ({ type: 'ignore-range' }));
    const ignored = await collect(backend).catch((e: unknown) => e);
    expect(ignored).toMatchObject({ code: 'BACKEND_IO', retryable: false });
    expect((ignored as Error).message).toContain(`asked for ${asked} bytes at offset 100, the store answered ${pack.length} bytes from offset 0`);

    // No Content-Length (a chunked answer) and more bytes than the span: read no further than the span.
    planned(() => ({ type: 'oversize-response', extraBytes: 64 * 1024, contentLength: 'omit' }));
    const got: number[] = [];
    const oversize = await backend
      .loadRanges!(handle, ranges, async (index) => {
        got.push(index);
      })
      .catch((e: unknown) => e);
    expect(oversize).toMatchObject({ code: 'BACKEND_IO' });
    expect((oversize as Error).message).toContain(`the store sent more than the ${asked} bytes asked for`);
    // What was handed over before the excess showed was whole and exact (checked above); the excess never is.
    expect([[0, 1], [0, 1, 2]]).toContainEqual(got);
  });
});

describe('PackSpanReader', () => {
  it("serves a restore's spans from one request per pack, each when asked for, and fails the rest of a request that fails", async () => {
    planned(() => undefined);
    const spans = ranges.map((r) => ({ pack: name, ...r }));
    const reader = new PackSpanReader(backend, spans, MiB);
    // Asked for out of order by concurrent callers: each still gets its own bytes.
    const [b, a, c] = await Promise.all([reader.load(spans[1]!), reader.load(spans[0]!), reader.load(spans[2]!)]);
    expectExact([a!, b!, c!].map((bytes, index) => ({ index, bytes })));
    expect(gets).toHaveLength(1);
    reader.close();

    // A gap wider than `gap` makes two requests; a request cut with no retry fails its spans not yet handed over.
    planned((_, nth) => (nth === 1 ? { type: 'drop-response', afterBytes: 1000 } : undefined));
    const apart = new PackSpanReader(backend, spans, 100_000);
    const results = await Promise.allSettled(spans.map((s) => apart.load(s)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(gets).toHaveLength(3);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    apart.close();
  });

  it('reads a span only once it is asked for: no span buffer is filled ahead of the loop', async () => {
    planned(() => undefined);
    const spans = ranges.map((r) => ({ pack: name, ...r }));
    const reader = new PackSpanReader(backend, spans, MiB);
    const out = () => spanBufferCounts().made - spanBufferCounts().free;
    const before = out();
    const first = await reader.load(spans[0]!);
    // The answer keeps coming (the second span is 1 MiB on); it stays in the socket until asked for.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(out() - before).toBe(1);
    const second = await reader.load(spans[1]!);
    expect(out() - before).toBe(2);
    const third = await reader.load(spans[2]!);
    expectExact([first, second, third].map((bytes, index) => ({ index, bytes })));
    expect(gets).toHaveLength(1);
    reader.close();
  });
});

describe('planning a restore from S3', () => {
  /** 3 levels of folders, 4 wide (84 folders, 85 trees with the root), a small file in each. */
  async function deepTree(base: string): Promise<{ src: string; files: string[] }> {
    const src = join(base, 'src');
    const files: string[] = [];
    const fill = async (dir: string, rel: string, depth: number): Promise<void> => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'f.txt'), `${rel}\n`);
      files.push(`data/${rel === '' ? '' : `${rel}/`}f.txt`);
      if (depth === 3) return;
      for (const name of ['a', 'b', 'c', 'd']) await fill(join(dir, name), rel === '' ? name : `${rel}/${name}`, depth + 1);
    };
    await fill(src, '', 0);
    return { src, files: files.sort() };
  }

  const s3 = (prefix: string) => new S3Backend(`s3://${server.bucket}/${prefix}`, { endpoint: proxy.endpoint, pathStyle: true, credentials: s3rverCredentials });
  const dataGets = () => {
    const seen: string[] = [];
    proxy.resetStats();
    proxy.plan = (r) => {
      if (r.method === 'GET' && r.url.includes('/data/')) seen.push(r.url);
      return undefined;
    };
    return seen;
  };

  it('reads a small tree-only pack whole the first time a level touches it: one request per tree pack, and plans exactly what one-at-a-time loads planned', async () => {
    const base = await tempDir();
    const { src, files } = await deepTree(base);
    const made = await Repository.init(s3('plan'), TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const { snapshot } = await backupDir(made, src);
    await made.backend.close();

    const repo = await Repository.open(s3('plan'), TEST_PASSWORD);
    await repo.loadIndex();
    const seen = dataGets();
    const plan = await planSnapshot(repo, snapshot);
    expect(plan.files.map((f) => f.rel).sort()).toEqual(files);
    expect(plan.unreadable).toEqual([]);
    // Level by level this was the root and each of 4 levels (5-12 requests); one-at-a-time loads, 85. Every
    // pack of listings is small here, so each is read whole once: as many requests as tree packs.
    const treePacks = [...repo.index.packs.keys()].filter((pack) => repo.index.blobsOf(pack).every((b) => b.type === 'tree'));
    expect(treePacks.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBe(treePacks.length);
    expect(new Set(seen.map((url) => url.split('?')[0])).size).toBe(treePacks.length);
    await repo.backend.close();
  });

  it('a damaged tree is not read ahead: the walk loads it itself and reports that folder unreadable, as before', async () => {
    const base = await tempDir();
    const { src } = await deepTree(base);
    const made = await Repository.init(s3('damaged'), TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const { snapshot } = await backupDir(made, src);
    // Flip a byte inside the listing of data/b/c, in s3rver's own file of its pack.
    const root = await made.loadTree(snapshot.tree);
    const dataDir = await made.loadTree(root.nodes.find((n) => n.name === 'data')!.subtree!);
    const b = await made.loadTree(dataDir.nodes.find((n) => n.name === 'b')!.subtree!);
    const victim = made.index.lookup(b.nodes.find((n) => n.name === 'c')!.subtree!)!;
    await made.backend.close();
    const file = await open(join(server.directory, server.bucket, `damaged/data/${victim.pack.slice(0, 2)}/${victim.pack}._S3rver_object`), 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, victim.offset + 20);
    byte[0] = byte[0]! ^ 0xff;
    await file.write(byte, 0, 1, victim.offset + 20);
    await file.close();

    const repo = await Repository.open(s3('damaged'), TEST_PASSWORD);
    await repo.loadIndex();
    const plan = await planSnapshot(repo, snapshot);
    expect(plan.unreadable.map((d) => d.rel)).toEqual(['data/b/c']);
    expect(plan.unreadable[0]!.listingError?.message).toMatch(/failed authentication/);
    // Everything outside that folder is planned.
    expect(plan.files.filter((f) => f.rel.startsWith('data/b/c/'))).toEqual([]);
    expect(plan.files.length).toBe(85 - 5);
    await repo.backend.close();
  });
});

describe('restoring from S3 in reused span buffers', () => {
  const s3 = (prefix: string) => new S3Backend(`s3://${server.bucket}/${prefix}`, { endpoint: proxy.endpoint, pathStyle: true, credentials: s3rverCredentials });

  it('writes every byte as backed up while the workers hand the buffers back, and a flipped byte still fails its file', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src, { recursive: true });
    // Incompressible files in 256-768 KiB chunks: ~2 MiB spans, far more of them than a restore has in flight.
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 4; i++) files.set(`f${i}.bin`, randomBytes(9 * MiB + i * 1001));
    for (const [fileName, bytes] of files) await writeFile(join(src, fileName), bytes);
    const made = await Repository.init(s3('reuse'), TEST_PASSWORD, {
      scrypt: testScrypt,
      chunker: { minSize: 256 * 1024, avgSize: 512 * 1024, maxSize: 768 * 1024 },
      packSize: 8 * MiB,
    });
    const { snapshot } = await backupDir(made, src);
    await made.backend.close();

    const repo = await Repository.open(s3('reuse'), TEST_PASSWORD);
    await repo.loadIndex();
    const before = spanBufferCounts();
    const target = join(base, 'target');
    const out = await restoreSnapshot({ repo, snapshot, target, workers: 2 });
    expect(out.failed).toEqual([]);
    for (const [fileName, bytes] of files) expect((await readFile(join(target, 'data', fileName))).equals(bytes), fileName).toBe(true);
    // ~18 spans of 1-2 MiB: the buffers came back from the workers and were handed out again.
    const after = spanBufferCounts();
    expect(after.made - before.made).toBeGreaterThan(0);
    expect(after.made - before.made).toBeLessThanOrEqual(8);
    expect(after.free).toBeGreaterThan(0);

    // One byte flipped inside a blob of f2.bin, in s3rver's own file: that file fails (its MAC), the others are whole.
    const node = (await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!)).nodes.find((n) => n.name === 'f2.bin')!;
    const victim = repo.index.lookup(node.content![3]!)!;
    const file = await open(join(server.directory, server.bucket, `reuse/data/${victim.pack.slice(0, 2)}/${victim.pack}._S3rver_object`), 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, victim.offset + 100);
    byte[0] = byte[0]! ^ 0x01;
    await file.write(byte, 0, 1, victim.offset + 100);
    await file.close();
    const damaged = join(base, 'damaged');
    const second = await restoreSnapshot({ repo, snapshot, target: damaged, workers: 2 });
    expect(second.failed.map((f) => f.path)).toEqual([join(damaged, 'data', 'f2.bin')]);
    for (const [fileName, bytes] of files) {
      if (fileName !== 'f2.bin') expect((await readFile(join(damaged, 'data', fileName))).equals(bytes), fileName).toBe(true);
    }
    await repo.backend.close();
  }, 60_000);
});
