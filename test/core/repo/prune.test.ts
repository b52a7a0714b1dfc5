/**
 * Prune proven directly, on repositories built blob by blob (memory backend,
 * so every decision is visible): a forced repack keeps every used blob
 * indexed and readable; unindexed packs wait out the grace period unless a
 * snapshot needs them; a dry run says exactly what the real run then does;
 * a `--no-prune` forget is finished by the next prune; prune stops, deleting
 * nothing, when a kept snapshot's data or a snapshot file cannot be found.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { isLifeboatError } from '../../../src/core/errors.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { prune, usedBlobs } from '../../../src/core/repo/prune.js';
import { Repository } from '../../../src/core/repo/repository.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import type { TreeNode } from '../../../src/core/repo/tree.js';
import { TEST_PASSWORD, testScrypt } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const KiB = 1024;
const HOUR = 60 * 60 * 1000;
const tempDir = useTempDirs('prune');

async function memoryRepo(backend = new MemoryBackend()): Promise<Repository> {
  // Packs of ~64 KiB: eight 8 KiB blobs each.
  return Repository.init(backend, TEST_PASSWORD, { scrypt: testScrypt, packSize: 64 * KiB, chunker: { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 16 * KiB } });
}

async function reopen(backend: MemoryBackend | LocalBackend): Promise<Repository> {
  const repo = await Repository.open(backend, TEST_PASSWORD);
  await repo.loadIndex();
  return repo;
}

/**
 * A snapshot of one folder whose files are the given blobs (one blob per
 * file). Blobs not yet stored are stored now, in the order given; blobs the
 * caller stored already (to share a pack with another snapshot's) are reused.
 */
async function snapshotOf(repo: Repository, name: string, blobs: Buffer[], time: string): Promise<Snapshot> {
  const nodes: TreeNode[] = [];
  for (const [i, bytes] of blobs.entries()) {
    const { id } = await repo.saveBlob('data', bytes, () => true);
    nodes.push({ name: `f${String(i).padStart(3, '0')}`, type: 'file', mode: 0o644, mtimeMs: 0, size: bytes.length, content: [id] });
  }
  const inner = await repo.saveTree({ nodes }, () => true);
  const root = await repo.saveTree({ nodes: [{ name: 'data', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: inner.id }] }, () => true);
  await repo.flushTrees();
  await repo.flushIndex();
  return repo.saveSnapshot({ time, runbook: name, host: 'h', user: 'u', tree: root.id, sources: [], stats: { files: 0, dirs: 0, bytes: 0, bytesNew: 0, bytesStored: 0, blobsNew: 0 } });
}

const blob = () => randomBytes(8 * KiB);

describe('prune on a memory backend', () => {
  it('a forced repack keeps every blob a kept snapshot uses indexed and readable, and drops the rest', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    // One pack holding 2 blobs of `keep` and 6 of `drop`, interleaved: after forgetting `drop` it is 25% used.
    const keepBlobs = [blob(), blob()];
    const dropBlobs = Array.from({ length: 6 }, blob);
    for (const bytes of [dropBlobs[0]!, keepBlobs[0]!, ...dropBlobs.slice(1, 4), keepBlobs[1]!, ...dropBlobs.slice(4)]) await repo.saveBlob('data', bytes, () => true);
    const keep = await snapshotOf(repo, 'keep', keepBlobs, '2026-01-01T00:00:00Z');
    const drop = await snapshotOf(repo, 'drop', dropBlobs, '2026-01-02T00:00:00Z');
    const before = await reopen(backend);
    const shared = before.index.lookup(before.blobId(keepBlobs[0]!))!.pack;
    expect(before.index.lookup(before.blobId(dropBlobs[0]!))!.pack).toBe(shared);
    const keptIds = [...(await usedBlobs(before, [keep])).used];
    await before.removeSnapshot(drop.id);

    const out = await prune(before, { now: new Date() });
    expect(out.packsRepacked).toBe(1); // the shared pack: its two used blobs rewritten, the pack deleted
    expect(out.blobsDropped).toBe(8); // its six files and its two folder listings

    const after = await reopen(backend);
    for (const id of keptIds) expect(after.index.has(id), `blob ${id.slice(0, 12)} of the kept snapshot is indexed`).toBe(true);
    for (const [i, bytes] of keepBlobs.entries()) expect((await after.loadBlob(after.blobId(bytes))).equals(bytes), `blob ${i}`).toBe(true);
    for (const bytes of dropBlobs) expect(after.index.has(after.blobId(bytes))).toBe(false);
    expect(after.index.packs.has(shared)).toBe(false);
    const check = await checkRepository({ repo: after, readData: 1, workers: 1 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
    expect(check.unindexedPacks).toBe(0);
  });

  it('a backup that read the index before a prune ran reads it again under its lock, so it never deduplicates against deleted packs', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    const dropBlobs = [blob(), blob(), blob()];
    const drop = await snapshotOf(repo, 'drop', dropBlobs, '2026-01-01T00:00:00Z');
    await snapshotOf(repo, 'keep', [blob()], '2026-01-02T00:00:00Z');
    // The backup's process: index read, repository lock not yet taken.
    const backup = await reopen(backend);
    expect(backup.index.has(backup.blobId(dropBlobs[0]!))).toBe(true);
    expect(await backup.reloadIndexIfReplaced()).toBe(false); // nothing changed: no reload

    // Meanwhile another process forgets `drop` and prunes (exclusive lock, released before the backup locks).
    const pruner = await reopen(backend);
    await pruner.removeSnapshot(drop.id);
    await prune(pruner, { now: new Date() });

    expect(backup.index.has(backup.blobId(dropBlobs[0]!)), 'the stale index still claims the deleted blob').toBe(true);
    expect(await backup.reloadIndexIfReplaced()).toBe(true);
    for (const bytes of dropBlobs) expect(backup.index.has(backup.blobId(bytes))).toBe(false);
    // So the backup stores the file again instead of pointing at a pack that is gone.
    const again = await snapshotOf(backup, 'drop', [dropBlobs[0]!], '2026-01-03T00:00:00Z');
    const check = await checkRepository({ repo: await reopen(backend), readData: 1, workers: 1 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
    const fresh = await reopen(backend);
    expect((await fresh.loadBlob(fresh.blobId(dropBlobs[0]!))).equals(dropBlobs[0]!)).toBe(true);
    expect((await fresh.listSnapshots()).map((s) => s.id)).toContain(again.id);
  });

  it('an unindexed pack no snapshot uses waits out the grace period; one a snapshot needs is re-indexed at once', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    const kept = await snapshotOf(repo, 'kept', [blob(), blob()], '2026-01-01T00:00:00Z');
    // An interrupted backup: a pack saved, its index never written.
    for (let i = 0; i < 3; i++) await repo.saveBlob('data', blob(), () => true);
    await repo.flushTrees();
    const [orphan] = repo.takeUnindexed();
    // A lost index file: the kept snapshot's packs are unindexed too.
    const keptIndex = [...(await reopen(backend)).indexFiles];
    for (const name of keptIndex) await backend.remove({ kind: 'index', name });

    const now = new Date();
    const young = await prune(await reopen(backend), { now });
    expect(young.orphansAdopted).toBeGreaterThan(0); // the kept snapshot's packs, needed, so indexed again
    expect(young.orphansYoung).toBe(1); // the interrupted backup's pack: too young to judge
    expect(young.orphansDeleted).toBe(0);
    expect((await reopen(backend)).index.packs.has(orphan!.id)).toBe(false);
    expect([...(await readAll(backend, 'data'))]).toContain(orphan!.id);

    const old = await prune(await reopen(backend), { now: new Date(now.getTime() + 25 * HOUR) });
    expect(old.orphansDeleted).toBe(1);
    expect([...(await readAll(backend, 'data'))]).not.toContain(orphan!.id);
    const after = await reopen(backend);
    const check = await checkRepository({ repo: after, readData: 1, workers: 1 });
    expect(check.errors).toEqual([]);
    expect((await usedBlobs(after, [kept])).missing.size).toBe(0);
  });

  it('a dry run reports exactly what the real run then does', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    await snapshotOf(repo, 'a', [blob(), blob(), blob()], '2026-01-01T00:00:00Z');
    const b = await snapshotOf(repo, 'b', Array.from({ length: 12 }, blob), '2026-01-02T00:00:00Z');
    await snapshotOf(repo, 'c', [blob()], '2026-01-03T00:00:00Z');
    const r = await reopen(backend);
    const dry = await prune(r, { dryRun: true, excludeSnapshots: new Set([b.id]) });
    await r.removeSnapshot(b.id);
    const real = await prune(await reopen(backend));
    expect(real).toEqual(dry);
    expect(real.packsDeleted + real.packsRepacked).toBeGreaterThan(0);
  });

  it('a forget without prune is finished by the next prune, which decides from the repository', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    await snapshotOf(repo, 'a', [blob()], '2026-01-01T00:00:00Z');
    const b = await snapshotOf(repo, 'b', Array.from({ length: 10 }, blob), '2026-01-02T00:00:00Z');
    await (await reopen(backend)).removeSnapshot(b.id); // forget --no-prune
    const bytesBefore = backend.storedBytes;
    const out = await prune(await reopen(backend)); // nothing forgotten by this call
    expect(out.packsDeleted).toBeGreaterThan(0);
    expect(backend.storedBytes).toBeLessThan(bytesBefore - 60 * KiB);
    expect(await prune(await reopen(backend))).toMatchObject({ packsDeleted: 0, packsRepacked: 0, orphansDeleted: 0 });
  });

  it('stops and deletes nothing when a kept snapshot uses a blob no pack holds, naming the blob and the snapshot', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    const kept = await snapshotOf(repo, 'kept', [blob(), blob()], '2026-01-01T00:00:00Z');
    const gone = await snapshotOf(repo, 'gone', Array.from({ length: 8 }, blob), '2026-01-02T00:00:00Z');
    const r = await reopen(backend);
    const victim = r.index.lookup(r.blobId((await collectBlobs(r, kept))[0]!))!;
    await backend.remove({ kind: 'data', name: victim.pack });
    await r.removeSnapshot(gone.id);
    const before = [...(await readAll(backend, 'data'))].sort();
    const error = await prune(await reopen(backend)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLifeboatError(error, 'PRUNE_REFUSED'), String(error)).toBe(true);
    expect((error as Error).message).toContain(kept.id.slice(0, 8));
    expect((error as Error).message).toContain('deleted nothing');
    expect([...(await readAll(backend, 'data'))].sort()).toEqual(before);
  });

  it('stops and deletes nothing while a snapshot file cannot be read', async () => {
    const backend = new MemoryBackend();
    const repo = await memoryRepo(backend);
    await snapshotOf(repo, 'a', [blob()], '2026-01-01T00:00:00Z');
    const b = await snapshotOf(repo, 'b', Array.from({ length: 8 }, blob), '2026-01-02T00:00:00Z');
    const bytes = await backend.load({ kind: 'snapshots', name: b.id });
    await backend.save({ kind: 'snapshots', name: 'ab'.repeat(32) }, bytes); // a copy under another name
    await backend.remove({ kind: 'snapshots', name: b.id });
    const error = await prune(await reopen(backend)).catch((e: unknown) => e);
    expect(isLifeboatError(error, 'PRUNE_REFUSED')).toBe(true);
    expect((error as Error).message).toContain('abababab');
  });
});

describe('prune on a local folder', () => {
  it('removes partial files of killed saves once an hour old, and keeps fresh ones (a save may be running)', async () => {
    const dir = join(await tempDir(), 'repo');
    const repo = await Repository.init(new LocalBackend(dir), TEST_PASSWORD, { scrypt: testScrypt });
    await snapshotOf(repo, 'a', [blob()], '2026-01-01T00:00:00Z');
    await mkdir(join(dir, 'data', 'ab'), { recursive: true });
    const stale = join(dir, 'data', 'ab', '.tmp-0123456789abcdef');
    const fresh = join(dir, 'data', 'ab', '.tmp-fedcba9876543210');
    await writeFile(stale, randomBytes(100 * KiB));
    await writeFile(fresh, randomBytes(100 * KiB));
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await prune(await reopen(new LocalBackend(dir)));
    // Only the partial files: the snapshot's own pack lands in data/ab too when its id starts with "ab" (1 in 256).
    expect((await readdir(join(dir, 'data', 'ab'))).filter((name) => name.startsWith('.tmp-'))).toEqual(['.tmp-fedcba9876543210']);
  });

  it('index files this process wrote are replaced by its prune (a backup then retention in one run)', async () => {
    const dir = join(await tempDir(), 'repo');
    const backend = new LocalBackend(dir);
    const repo = await Repository.init(backend, TEST_PASSWORD, { scrypt: testScrypt, packSize: 64 * KiB });
    await repo.loadIndex();
    await snapshotOf(repo, 'a', [blob()], '2026-01-01T00:00:00Z');
    const b = await snapshotOf(repo, 'b', Array.from({ length: 10 }, blob), '2026-01-02T00:00:00Z');
    // The same Repository object, as a backup's retention stage uses it.
    await repo.removeSnapshot(b.id);
    await prune(repo);
    expect(repo.indexFiles.size).toBe(1);
    const after = await reopen(backend);
    expect(after.indexFiles.size).toBe(1);
    const check = await checkRepository({ repo: after, readData: 1, workers: 1 });
    expect(check.errors).toEqual([]);
    expect(check.damaged).toEqual([]);
  });
});

async function readAll(backend: MemoryBackend, kind: 'data'): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const info of backend.list(kind)) out.add(info.name);
  return out;
}

async function collectBlobs(repo: Repository, snapshot: Snapshot): Promise<Buffer[]> {
  const data = await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes[0]!.subtree!);
  return Promise.all(data.nodes.map((n) => repo.loadBlob(n.content![0]!)));
}
