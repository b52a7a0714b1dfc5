import { describe, expect, it } from 'vitest';
import type { Backend, FileKind, Handle, ObjectInfo } from '../../../src/core/backends/backend.js';
import { FaultyBackend } from '../../../src/core/backends/faulty-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { RetryBackend, backoffDelayMs, defaultRetryPolicy } from '../../../src/core/backends/retry-backend.js';
import { FakeClock } from '../../../src/core/clock.js';
import { LifeboatError } from '../../../src/core/errors.js';
import type { EngineEvent } from '../../../src/core/events.js';
import { backendContract, dataHandle, hexId, listAll, rejection } from './contract.js';

/** Sleeps that take no time: they record the delay and move a fake clock. */
function fakeTime(clock = new FakeClock()) {
  const delays: number[] = [];
  return {
    clock,
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
      clock.advance(ms);
    },
  };
}

const unavailable = (n = 0) => new LifeboatError('BACKEND_UNAVAILABLE', `down #${n}`, { retryable: true });

/** A backend whose every call fails with a fresh retryable error numbered by call. */
class AlwaysDown extends MemoryBackend {
  calls = 0;
  override async save(): Promise<void> {
    this.calls += 1;
    throw unavailable(this.calls);
  }
  override async load(): Promise<Buffer> {
    this.calls += 1;
    throw unavailable(this.calls);
  }
}

backendContract('retry wrapper over memory', () => new RetryBackend(new MemoryBackend()), { largeObjectBytes: 1024 * 1024 });

describe('backoffDelayMs (full jitter)', () => {
  it('draws uniformly below a ceiling that doubles from the base up to the cap', () => {
    const policy = { baseDelayMs: 200, maxDelayMs: 20_000 };
    const ceilings = [200, 400, 800, 1600, 3200, 6400, 12_800, 20_000, 20_000, 20_000];
    for (const [i, ceiling] of ceilings.entries()) {
      const retry = i + 1;
      expect(backoffDelayMs(retry, policy, () => 0)).toBe(0);
      expect(backoffDelayMs(retry, policy, () => 0.5)).toBe(ceiling / 2);
      const top = backoffDelayMs(retry, policy, () => 0.999_999_9);
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThanOrEqual(ceiling - 1);
    }
    expect(backoffDelayMs(60, policy, () => 0.999)).toBeLessThan(20_000);
  });

  it('defaults to a 200 ms base, a 20 s cap and a 5 minute budget', () => {
    expect(defaultRetryPolicy).toMatchObject({ baseDelayMs: 200, maxDelayMs: 20_000, budgetMs: 300_000 });
  });
});

describe('RetryBackend', () => {
  it('retries retryable failures with backoff, counts them by operation and emits retry events', async () => {
    const time = fakeTime();
    const events: EngineEvent[] = [];
    const inner = new FaultyBackend(new MemoryBackend()).failNth('save', 1).failNth('save', 2).failNth('load', 1);
    const backend = new RetryBackend(inner, { ...time, random: () => 0.5, emit: (e) => events.push(e), runId: 'run-1' });
    const handle = dataHandle('ab');
    await backend.save(handle, Buffer.from('pack'));
    expect((await backend.load(handle)).toString()).toBe('pack');

    expect(inner.calls.save).toBe(3);
    expect(time.delays).toEqual([100, 200, 100]);
    expect(backend.retryStats()).toEqual({
      retries: 3,
      byOperation: { save: 2, load: 1, stat: 0, list: 0, remove: 0, create: 0, exists: 0 },
      gaveUp: 0,
      budgetExhausted: false,
    });
    expect(backend.retries).toBe(3);
    expect(events).toEqual([
      { type: 'retry', runId: 'run-1', operation: `save data/${handle.name}`, attempt: 2, delayMs: 100, error: expect.stringContaining('injected fault') },
      { type: 'retry', runId: 'run-1', operation: `save data/${handle.name}`, attempt: 3, delayMs: 200, error: expect.any(String) },
      { type: 'retry', runId: 'run-1', operation: `load data/${handle.name}`, attempt: 2, delayMs: 100, error: expect.any(String) },
    ]);
  });

  it('fails permanent errors at once, unchanged, without waiting', async () => {
    const time = fakeTime();
    const denied = new LifeboatError('BACKEND_PERMISSION', 'access denied to bucket "b"');
    const bug = new TypeError('not a LifeboatError');
    const inner = new FaultyBackend(new MemoryBackend()).failNth('save', 1, denied).failNth('save', 2, bug);
    const backend = new RetryBackend(inner, time);
    await expect(backend.save(dataHandle(), Buffer.from('x'))).rejects.toBe(denied);
    await expect(backend.save(dataHandle(), Buffer.from('x'))).rejects.toBe(bug);
    await rejection(backend.load({ kind: 'index', name: hexId() }), 'BACKEND_NOT_FOUND');
    const notRetryableIo = new LifeboatError('BACKEND_IO', 'short read');
    inner.failNth('stat', 1, notRetryableIo);
    await expect(backend.stat({ kind: 'index', name: hexId() })).rejects.toBe(notRetryableIo);
    expect(inner.calls.save).toBe(2);
    expect(time.delays).toEqual([]);
    expect(backend.retryStats().retries).toBe(0);
    expect(backend.retryStats().gaveUp).toBe(0);
  });

  it('stops after maxAttempts and throws the last error', async () => {
    const time = fakeTime();
    const inner = new AlwaysDown();
    const backend = new RetryBackend(inner, { ...time, maxAttempts: 4, random: () => 0.5 });
    const error = await rejection(backend.save(dataHandle(), Buffer.from('x')), 'BACKEND_UNAVAILABLE');
    expect(error.message).toBe('down #4');
    expect(inner.calls).toBe(4);
    expect(time.delays).toEqual([100, 200, 400]);
    expect(backend.retryStats()).toMatchObject({ retries: 3, gaveUp: 1, budgetExhausted: false });
  });

  it('gives up when the budget is spent, trims the last wait to it, then fails fast until a call succeeds', async () => {
    const time = fakeTime();
    const inner = new AlwaysDown();
    const backend = new RetryBackend(inner, {
      ...time,
      budgetMs: 10_000,
      baseDelayMs: 1000,
      maxDelayMs: 4000,
      maxAttempts: 100,
      random: () => 0.999,
    });
    const error = await rejection(backend.save(dataHandle(), Buffer.from('x')), 'BACKEND_UNAVAILABLE');
    // Waits of 999, 1998, 3996, then only what is left of the 10 s budget.
    expect(time.delays).toEqual([999, 1998, 3996, 10_000 - 999 - 1998 - 3996]);
    expect(time.clock.monotonicMs() - new FakeClock().monotonicMs()).toBe(10_000);
    expect(error.message).toBe(`down #${inner.calls}`);
    expect(inner.calls).toBe(5);
    expect(backend.retryStats()).toMatchObject({ retries: 4, gaveUp: 1, budgetExhausted: true });

    // Still down: the next call tries once and gives up without waiting.
    await rejection(backend.load(dataHandle()), 'BACKEND_UNAVAILABLE');
    expect(inner.calls).toBe(6);
    expect(time.delays).toHaveLength(4);

    // A success (on another operation) ends the outage: the budget starts afresh next time.
    await backend.stat({ kind: 'config', name: 'config' }).catch(() => undefined);
    await backend.exists();
    expect(backend.retryStats().budgetExhausted).toBe(false);
    await rejection(backend.load(dataHandle()), 'BACKEND_UNAVAILABLE');
    expect(time.delays.length).toBeGreaterThan(4);
  });

  it('restarts a listing that failed part-way and yields every object once', async () => {
    const memory = new MemoryBackend();
    const handles = Array.from({ length: 5 }, () => dataHandle());
    for (const h of handles) await memory.save(h, Buffer.from('x'));
    let listings = 0;
    const flaky: Backend = {
      location: memory.location,
      save: (h, d, o) => memory.save(h, d, o),
      load: (h, r) => memory.load(h, r),
      stat: (h) => memory.stat(h),
      remove: (h) => memory.remove(h),
      create: () => memory.create(),
      exists: () => memory.exists(),
      close: () => memory.close(),
      async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
        listings += 1;
        let n = 0;
        for await (const info of memory.list(kind)) {
          if (listings <= 2 && n === listings) throw unavailable(listings);
          n += 1;
          yield info;
        }
      },
    };
    const time = fakeTime();
    const backend = new RetryBackend(flaky, { ...time, random: () => 0 });
    const listed = await listAll(backend, 'data');
    expect(listed.map((o) => o.name)).toEqual(handles.map((h) => h.name).sort((a, b) => a.localeCompare(b)));
    expect(listings).toBe(3);
    expect(backend.retryStats().byOperation.list).toBe(2);
  });

  it('gives up on a listing that keeps failing after the names it already gave', async () => {
    const memory = new MemoryBackend();
    await memory.save(dataHandle(), Buffer.from('x'));
    const broken = new (class extends MemoryBackend {
      override async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
        yield* memory.list(kind);
        throw unavailable();
      }
    })();
    const time = fakeTime();
    const backend = new RetryBackend(broken, { ...time, random: () => 0, maxAttempts: 5 });
    const seen: string[] = [];
    await rejection(
      (async () => {
        for await (const info of backend.list('data')) seen.push(info.name);
      })(),
      'BACKEND_UNAVAILABLE',
    );
    expect(seen).toHaveLength(1);
    expect(backend.retryStats()).toMatchObject({ retries: 4, gaveUp: 1 });
  });

  it('retries every operation kind', async () => {
    const time = fakeTime();
    const inner = new FaultyBackend(new MemoryBackend());
    for (const op of ['save', 'load', 'stat', 'remove', 'create', 'exists', 'list'] as const) inner.failNth(op, 1);
    const backend = new RetryBackend(inner, { ...time, random: () => 0 });
    const handle: Handle = { kind: 'index', name: hexId() };
    await backend.create();
    await backend.save(handle, Buffer.from('i'));
    await backend.load(handle);
    await backend.stat(handle);
    expect(await listAll(backend, 'index')).toHaveLength(1);
    await backend.exists();
    await backend.remove(handle);
    expect(backend.retryStats().byOperation).toEqual({ save: 1, load: 1, stat: 1, list: 1, remove: 1, create: 1, exists: 1 });
  });
});
