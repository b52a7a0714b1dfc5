/** Test repositories on real folders: low KDF cost, small chunks and packs where speed matters. */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import type { BackupOutcome } from '../../src/core/repo/archiver.js';
import { backupPaths, type BackupInput } from '../../src/core/pipeline/snapshot-stage.js';
import { LocalBlobReader } from '../../src/core/repo/local-blob-reader.js';
import { Repository, type InitOptions } from '../../src/core/repo/repository.js';
import type { Snapshot } from '../../src/core/repo/snapshot.js';

export const TEST_PASSWORD = 'correct horse battery staple';
export const testScrypt = { N: 1024, r: 8, p: 1 };
/** Chunks of 2–64 KiB: a file of a few hundred KiB already spans many chunks and several packs. */
export const smallChunker = { minSize: 2 * 1024, avgSize: 8 * 1024, maxSize: 64 * 1024 };
export const smallRepo: InitOptions = { chunker: smallChunker, packSize: 256 * 1024 };

export function createRepo(dir: string, options: InitOptions = {}): Promise<Repository> {
  return Repository.init(new LocalBackend(dir), TEST_PASSWORD, { scrypt: testScrypt, ...options });
}

export async function openRepo(dir: string, password = TEST_PASSWORD): Promise<Repository> {
  const repo = await Repository.open(new LocalBackend(dir), password);
  await repo.loadIndex();
  return repo;
}

/** Back up one folder as source `data`. */
export function backupDir(
  repo: Repository,
  path: string,
  options: { exclude?: string[]; parent?: Snapshot } & Partial<Omit<BackupInput, 'repo' | 'sources' | 'parent'>> = {},
): Promise<BackupOutcome> {
  const { exclude = [], parent, ...rest } = options;
  return backupPaths({ repo, runbook: 'test', sources: [{ name: 'data', path, exclude }], parent, workers: 2, ...rest });
}

/** Counts the repository's folder-listing loads (cached or not) from now on: how many walks of the trees happen. */
export function countTreeLoads(repo: Repository): () => number {
  let count = 0;
  const load = repo.loadTree.bind(repo);
  repo.loadTree = (...args: Parameters<Repository['loadTree']>) => {
    count++;
    return load(...args);
  };
  return () => count;
}

const localListingReads = new WeakMap<Repository, () => void>();
let localReadsCounted = false;

/**
 * Counts the repository's folder-listing reads from now on, through loadTree (cached or not) and
 * straight from a local pack file (LocalBlobReader.tree, which a local repository's plan and check
 * use): how many walks of the trees happen, whichever way they read.
 */
export function countListingReads(repo: Repository): () => number {
  const loads = countTreeLoads(repo);
  let local = 0;
  if (!localReadsCounted) {
    localReadsCounted = true;
    const read = LocalBlobReader.prototype.tree;
    LocalBlobReader.prototype.tree = function (this: LocalBlobReader, id: string) {
      localListingReads.get((this as unknown as { repo: Repository }).repo)?.();
      return read.call(this, id);
    };
  }
  localListingReads.set(repo, () => local++);
  return () => loads() + local;
}

/**
 * `count` files f0.bin, f1.bin, … of `size` varied, incompressible-looking bytes each (a multiplicative
 * hash of the offset, `salt` per file), in `dir`: several chunks and packs of a smallRepo, no two files alike.
 */
export async function writeVariedFiles(dir: string, count: number, size: number, salt: number): Promise<void> {
  for (let f = 0; f < count; f++) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761 + f * salt) >>> 24;
    await writeFile(join(dir, `f${f}.bin`), bytes);
  }
}

/** Flips one bit in the middle of a blob's sealed bytes, in place in its pack file under `repoDir` (damage on disk, or an attacker without the key). */
export function flipBitInBlob(repoDir: string, loc: { pack: string; offset: number; length: number }): void {
  const fd = openSync(join(repoDir, 'data', loc.pack.slice(0, 2), loc.pack), 'r+');
  try {
    const at = loc.offset + Math.floor(loc.length / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x01;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}
