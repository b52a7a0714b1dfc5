/**
 * Backend.localFile: the capability that lets repository workers read a pack
 * file themselves. Only a backend whose objects are plain local files offers
 * it; no wrapper passes it on, so a read through a wrapper is always seen by
 * it (src/core/backends/backend.ts, src/core/repo/worker-pool.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localFileOf, type Backend } from '../../../src/core/backends/backend.js';
import { FaultyBackend } from '../../../src/core/backends/faulty-backend.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { MetadataCache } from '../../../src/core/backends/metadata-cache.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import { wrapForTransfer } from '../../../src/core/backends/transfer-wrappers.js';
import { BandwidthLimitBackend, ConcurrencyLimitBackend } from '../../../src/core/backends/throttle-backend.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { backupDir, createRepo, openRepo, smallRepo, TEST_PASSWORD } from '../../helpers/repo.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { dataHandle } from './contract.js';

const tempDir = useTempDirs('local-file');

describe('Backend.localFile', () => {
  it('a local folder names the file that holds exactly the object, under its own folder', async () => {
    const dir = await tempDir();
    const backend = new LocalBackend(dir);
    const handle = dataHandle('ab');
    await backend.save(handle, Buffer.from('pack bytes'));
    const path = localFileOf(backend, handle);
    expect(path).toBe(join(dir, 'data', 'ab', handle.name));
    expect(await readFile(path!)).toEqual(await backend.load(handle));
  });

  it('a local folder refuses a name that is not an object name, as every call does', async () => {
    const backend = new LocalBackend(await tempDir());
    expect(() => localFileOf(backend, { kind: 'data', name: '../../etc/passwd' })).toThrow();
  });

  it('no wrapper and no other backend offers it, so reads through them go through load', async () => {
    const dir = await tempDir();
    const local = new LocalBackend(join(dir, 'repo'));
    const wrappers: [string, Backend][] = [
      ['memory', new MemoryBackend()],
      ['faulty', new FaultyBackend(local)],
      ['retry ∘ limits', wrapForTransfer(local, { concurrency: 2, bandwidthBytesPerSec: 1e9 })],
      ['concurrency', new ConcurrencyLimitBackend(local, 2)],
      ['bandwidth', new BandwidthLimitBackend(local, { bytesPerSec: 1e9 })],
      ['metadata cache', new MetadataCache(local, new LocalBackend(join(dir, 'cache')))],
      ['staging', new StagingBackend(local, new LocalBackend(join(dir, 'staging')))],
    ];
    for (const [label, backend] of wrappers) {
      expect(localFileOf(backend, dataHandle('ab')), label).toBeUndefined();
    }
  });

  it('a restore through a wrapper around a local folder reads every pack through the wrapper', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'alpha\n');
    await writeFile(join(src, 'b.txt'), 'beta\n');
    const repoDir = join(base, 'repo');
    const { snapshot } = await backupDir(await createRepo(repoDir, smallRepo), src);

    // Unwrapped, the workers read the pack files themselves and nothing fails.
    expect((await restoreSnapshot({ repo: await openRepo(repoDir), snapshot, target: join(base, 'direct'), workers: 1 })).failed).toEqual([]);

    const faulty = new FaultyBackend(new LocalBackend(repoDir));
    const wrapped = await Repository.open(faulty, TEST_PASSWORD);
    await wrapped.loadIndex();
    // Folder listings load first (and stay cached): only the file contents' packs fail.
    for (const node of (await wrapped.loadTree(snapshot.tree)).nodes) if (node.subtree) await wrapped.loadTree(node.subtree);
    faulty.addFault({ op: 'load', kind: 'data', action: { type: 'fail' } });
    const loadsBefore = faulty.calls.load;
    const out = await restoreSnapshot({ repo: wrapped, snapshot, target: join(base, 'wrapped'), workers: 1 });
    expect(faulty.calls.load).toBeGreaterThan(loadsBefore);
    expect(out.failed.map((f) => f.path).sort()).toEqual([join(base, 'wrapped/data/a.txt'), join(base, 'wrapped/data/b.txt')]);
    expect(out.failed[0]?.error).toMatch(/injected fault/);
  });
});
