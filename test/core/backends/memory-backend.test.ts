import { describe, expect, it } from 'vitest';
import { MemoryBackend, dropSharedMemoryBackend, sharedMemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { backendContract, dataHandle } from './contract.js';

backendContract('memory', () => new MemoryBackend());

describe('MemoryBackend', () => {
  it('names its location and counts stored bytes', async () => {
    const backend = new MemoryBackend('t1');
    expect(backend.location).toBe('memory:t1');
    await backend.save(dataHandle(), Buffer.alloc(10));
    await backend.save({ kind: 'config', name: 'config' }, Buffer.alloc(5));
    expect(backend.storedBytes).toBe(15);
  });

  it('shares one store per name until dropped', async () => {
    const a = sharedMemoryBackend('shared-test');
    expect(sharedMemoryBackend('shared-test')).toBe(a);
    await a.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));
    await a.close();
    expect(await sharedMemoryBackend('shared-test').exists()).toBe(true);
    dropSharedMemoryBackend('shared-test');
    expect(sharedMemoryBackend('shared-test')).not.toBe(a);
    expect(await sharedMemoryBackend('shared-test').exists()).toBe(false);
    dropSharedMemoryBackend();
  });
});
