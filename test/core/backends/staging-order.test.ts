/**
 * The staging backend's ordering promises, seen from the remote: a delete
 * never overtakes an upload staged before it (prune writes a new index and
 * then deletes the old ones; the remote must never hold packs without an index
 * that names them).
 */
import { describe, expect, it } from 'vitest';
import type { Handle, SaveOptions } from '../../../src/core/backends/backend.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('staging-order');

/** A remote whose uploads take a while, recording what happened in which order. */
class SlowRecordingRemote extends MemoryBackend {
  readonly log: string[] = [];
  override async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    await new Promise((r) => setTimeout(r, 30));
    await super.save(handle, data, options);
    this.log.push(`save ${handle.kind}/${handle.name}${options?.storageClass ? ` ${options.storageClass}` : ''}${options?.metadataPack ? ' metadata' : ''}`);
  }
  override async remove(handle: Handle): Promise<void> {
    await super.remove(handle);
    this.log.push(`remove ${handle.kind}/${handle.name}`);
  }
}

describe('StagingBackend ordering', () => {
  it('uploads everything staged before a delete goes to the remote', async () => {
    const remote = new SlowRecordingRemote();
    const staging = new StagingBackend(remote, new LocalBackend(await tempDir()), { concurrency: 2 });
    await remote.save({ kind: 'index', name: 'old' }, Buffer.from('old index'));
    remote.log.length = 0;

    await staging.save({ kind: 'data', name: 'aa01' }, Buffer.from('pack'));
    await staging.save({ kind: 'index', name: 'new' }, Buffer.from('new index'));
    await staging.remove({ kind: 'index', name: 'old' });
    expect(remote.log).toEqual(['save data/aa01', 'save index/new', 'remove index/old']);
  });

  it('a lock is released at once, whatever is still staged', async () => {
    const remote = new SlowRecordingRemote();
    const staging = new StagingBackend(remote, new LocalBackend(await tempDir()));
    await staging.save({ kind: 'locks', name: 'l1' }, Buffer.from('{}'));
    await staging.save({ kind: 'data', name: 'bb01' }, Buffer.from('pack'));
    await staging.remove({ kind: 'locks', name: 'l1' });
    // The pack's upload (30 ms) is still under way: the lock did not wait for it.
    expect(remote.log).toEqual(['save locks/l1', 'remove locks/l1']);
    await staging.flush();
    expect(remote.log).toContain('save data/bb01');
  });

  it('uploads tree-only packs marked metadataPack without the cold class, and content packs with it', async () => {
    const remote = new SlowRecordingRemote();
    const staging = new StagingBackend(remote, new LocalBackend(await tempDir()), { storageClass: 'GLACIER', concurrency: 1 });
    await staging.save({ kind: 'data', name: 'cc01' }, Buffer.from('content'));
    await staging.save({ kind: 'data', name: 'cc02' }, Buffer.from('trees'), { metadataPack: true });
    await staging.save({ kind: 'index', name: 'i1' }, Buffer.from('index'));
    await staging.flush();
    expect(remote.log).toEqual(['save data/cc01 GLACIER', 'save data/cc02 metadata', 'save index/i1']);
  });
});
