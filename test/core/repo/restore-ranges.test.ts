/**
 * A restore of one small file reads only the pack ranges it needs (issue 20):
 * the folder listings on its path and its own blob, each a ranged read, and
 * not the pack that holds them next to megabytes of other data. Counted at
 * the backend (a wrapper that sees every read of a remote repository) and
 * for a local repository, whose workers read the pack files themselves.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import type { Backend, Handle } from '../../../src/core/backends/backend.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { TEST_PASSWORD, backupDir, createRepo, openRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-ranges');
const MiB = 1024 * 1024;

interface Read {
  pack: string;
  offset?: number;
  length: number;
}

/** The backend as a remote one looks to the restorer (no local file to hand to the workers), counting every data read. */
function countingRemote(inner: Backend, reads: Read[]): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'localFile') return undefined;
      if (prop === 'load') {
        return async (handle: Handle, range?: { offset: number; length: number }) => {
          const data = await target.load(handle, range);
          if (handle.kind === 'data') reads.push({ pack: handle.name, offset: range?.offset, length: data.length });
          return data;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('restoring one small file', () => {
  it('reads its folder listings and its one blob, by range: bytes read are those blobs, not the pack they share with 8 MiB of other data', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'docs'), { recursive: true });
    // One pack of 16 MiB holds the big files' blobs and the small file's.
    await writeFile(join(src, 'big-1.bin'), randomBytes(4 * MiB));
    await writeFile(join(src, 'docs/small.txt'), 'the one file an operator needs back\n');
    await writeFile(join(src, 'big-2.bin'), randomBytes(4 * MiB));
    const repoDir = join(base, 'repo');
    const created = await createRepo(repoDir, { packSize: 16 * MiB });
    // One worker, so the files go into one packer.
    const { snapshot } = await backupDir(created, src, { workers: 1 });

    const local = await openRepo(repoDir);
    const root = await local.loadTree(snapshot.tree);
    const data = await local.loadTree(root.nodes.find((n) => n.name === 'data')!.subtree!);
    const docs = await local.loadTree(data.nodes.find((n) => n.name === 'docs')!.subtree!);
    const smallLoc = local.index.lookup(docs.nodes.find((n) => n.name === 'small.txt')!.content![0]!)!;
    const treeLocs = [snapshot.tree, root.nodes[0]!.subtree!, data.nodes.find((n) => n.name === 'docs')!.subtree!].map((id) => local.index.lookup(id)!);
    // The small file shares its pack with megabytes of other data.
    expect(local.index.byType('data').filter((b) => b.pack === smallLoc.pack).reduce((n, b) => n + b.length, 0)).toBeGreaterThan(4 * MiB);

    // Remote-like: every read goes through the backend.
    const reads: Read[] = [];
    const remote = await Repository.open(countingRemote(new LocalBackend(repoDir), reads), TEST_PASSWORD);
    await remote.loadIndex();
    const target = join(base, 'remote-target');
    const out = await restoreSnapshot({ repo: remote, snapshot, target, subPath: 'data/docs/small.txt', workers: 1 });
    expect(out.failed).toEqual([]);
    expect(await readFile(join(target, 'data/docs/small.txt'), 'utf8')).toBe('the one file an operator needs back\n');
    // Exactly the three folder listings on its path and its own blob, each a ranged read of its own bytes.
    const expected = [...treeLocs, smallLoc].map((l) => ({ pack: l.pack, offset: l.offset, length: l.length }));
    expect(reads.sort((a, b) => a.length - b.length)).toEqual(expected.sort((a, b) => a.length - b.length));
    const bytesRead = reads.reduce((n, r) => n + r.length, 0);
    expect(bytesRead).toBeLessThan(4096);
    expect(out.bytesFetched).toBe(smallLoc.length);

    // Local: the workers read the pack file themselves, the same one span.
    const localTarget = join(base, 'local-target');
    const localOut = await restoreSnapshot({ repo: local, snapshot, target: localTarget, subPath: 'data/docs/small.txt', workers: 1 });
    expect(localOut.failed).toEqual([]);
    expect([localOut.packsRead, localOut.bytesFetched]).toEqual([1, smallLoc.length]);
  });
});
