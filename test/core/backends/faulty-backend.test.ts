import { describe, expect, it } from 'vitest';
import { FaultyBackend } from '../../../src/core/backends/faulty-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { LifeboatError } from '../../../src/core/errors.js';
import { backendContract, dataHandle, listAll, rejection } from './contract.js';

backendContract('faulty wrapper without faults', () => new FaultyBackend(new MemoryBackend()), {
  largeObjectBytes: 1024 * 1024,
});

describe('FaultyBackend', () => {
  it('fails the Nth call of an operation with a retryable BACKEND_UNAVAILABLE by default', async () => {
    const backend = new FaultyBackend(new MemoryBackend()).failNth('save', 2);
    await backend.save(dataHandle(), Buffer.from('1'));
    const error = await rejection(backend.save(dataHandle(), Buffer.from('2')), 'BACKEND_UNAVAILABLE');
    expect(error instanceof LifeboatError && error.retryable).toBe(true);
    expect(error.message).toMatch(/^injected fault: save memory:memory data\//);
    await backend.save(dataHandle(), Buffer.from('3'));
    expect(await listAll(backend, 'data')).toHaveLength(2);
    expect(backend.calls.save).toBe(3);
  });

  it('fails saves of one kind only, with a given error, a given number of times', async () => {
    const inner = new MemoryBackend();
    const denied = new LifeboatError('BACKEND_PERMISSION', 'denied');
    const backend = new FaultyBackend(inner).failSaves('index', 2, denied);
    await backend.save(dataHandle(), Buffer.from('pack'));
    await expect(backend.save({ kind: 'index', name: 'ab' }, Buffer.from('i'))).rejects.toBe(denied);
    await expect(backend.save({ kind: 'index', name: 'ab' }, Buffer.from('i'))).rejects.toBe(denied);
    await backend.save({ kind: 'index', name: 'ab' }, Buffer.from('i'));
    expect(await listAll(inner, 'index')).toEqual([{ name: 'ab', size: 1 }]);
  });

  it('truncates saves, and heal() removes every fault', async () => {
    const backend = new FaultyBackend(new MemoryBackend()).truncateSaves('data', 3);
    const handle = dataHandle();
    await backend.save(handle, Buffer.from('0123456789'));
    expect((await backend.load(handle)).toString()).toBe('012');
    backend.heal();
    await backend.save(handle, Buffer.from('0123456789'));
    expect((await backend.load(handle)).toString()).toBe('0123456789');
  });

  it('delays calls and holds them at a gate', async () => {
    const backend = new FaultyBackend(new MemoryBackend()).delay('stat', 30);
    const handle = dataHandle();
    await backend.save(handle, Buffer.from('x'));
    const started = performance.now();
    await backend.stat(handle);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);

    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    backend.addFault({ op: 'load', action: { type: 'wait', until: gate } });
    let loaded = false;
    const loading = backend.load(handle).then(() => {
      loaded = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(loaded).toBe(false);
    open();
    await loading;
    expect(loaded).toBe(true);
  });

  it('counts the Nth call independently of other faults, and fails list on iteration', async () => {
    const backend = new FaultyBackend(new MemoryBackend())
      .addFault({ op: 'load', skip: 0, times: 1, action: { type: 'delay', ms: 1 } })
      .failNth('load', 2)
      .failNth('list', 1);
    const handle = dataHandle();
    await backend.save(handle, Buffer.from('x'));
    await backend.load(handle);
    await rejection(backend.load(handle), 'BACKEND_UNAVAILABLE');
    await backend.load(handle);
    await rejection(listAll(backend, 'data'), 'BACKEND_UNAVAILABLE');
    expect(await listAll(backend, 'data')).toHaveLength(1);
  });
});
