import { describe, expect, it } from 'vitest';
import type { Handle } from '../../../src/core/backends/backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import {
  BandwidthLimitBackend,
  ConcurrencyLimitBackend,
  Semaphore,
  TokenBucket,
} from '../../../src/core/backends/throttle-backend.js';
import { wrapForTransfer } from '../../../src/core/backends/transfer-wrappers.js';
import { FakeClock } from '../../../src/core/clock.js';
import { LifeboatError } from '../../../src/core/errors.js';
import { backendContract, dataHandle, hexId, listAll } from './contract.js';

function fakeTime() {
  const clock = new FakeClock();
  const start = clock.monotonicMs();
  const delays: number[] = [];
  return {
    clock,
    delays,
    elapsed: () => clock.monotonicMs() - start,
    sleep: async (ms: number) => {
      delays.push(ms);
      clock.advance(ms);
    },
  };
}

/** A memory backend whose saves wait for the test to open them, counting how many run at once. */
class GatedBackend extends MemoryBackend {
  running = 0;
  peak = 0;
  started: string[] = [];
  private readonly gates: (() => void)[] = [];

  override async save(handle: Handle, data: Uint8Array): Promise<void> {
    this.running += 1;
    this.peak = Math.max(this.peak, this.running);
    this.started.push(handle.name);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    await super.save(handle, data);
    this.running -= 1;
  }

  /** Opens every save waiting right now. */
  openAll(): number {
    const n = this.gates.length;
    for (const open of this.gates.splice(0)) open();
    return n;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

backendContract('concurrency limit over memory', () => new ConcurrencyLimitBackend(new MemoryBackend(), 2), {
  largeObjectBytes: 1024 * 1024,
});
backendContract(
  'bandwidth limit over memory',
  () => new BandwidthLimitBackend(new MemoryBackend(), { bytesPerSec: 1e12 }),
  { largeObjectBytes: 1024 * 1024 },
);

describe('ConcurrencyLimitBackend', () => {
  it('runs at most `limit` calls at once, the rest in arrival order', async () => {
    const inner = new GatedBackend();
    const backend = new ConcurrencyLimitBackend(inner, 3);
    const handles = Array.from({ length: 10 }, (_, i) => ({ kind: 'index', name: `${i}`.padStart(2, '0') }) as const);
    const saving = Promise.all(handles.map((h) => backend.save(h, Buffer.from(h.name))));
    for (let round = 0; round < 10 && inner.started.length < handles.length; round++) {
      await tick();
      expect(inner.running).toBeLessThanOrEqual(3);
      expect(backend.semaphore.inFlight).toBeLessThanOrEqual(3);
      inner.openAll();
      await tick();
    }
    while (inner.openAll() > 0) await tick();
    await saving;
    expect(inner.peak).toBe(3);
    expect(inner.started).toEqual(handles.map((h) => h.name));
    expect(await listAll(backend, 'index')).toHaveLength(10);
  });

  it('takes no slot for a listing, so calls made while iterating one do not deadlock', async () => {
    const memory = new MemoryBackend();
    for (let i = 0; i < 3; i++) await memory.save(dataHandle(), Buffer.from('x'));
    const backend = new ConcurrencyLimitBackend(memory, 1);
    let stats = 0;
    for await (const info of backend.list('data')) {
      await backend.stat({ kind: 'data', name: info.name });
      stats += 1;
    }
    expect(stats).toBe(3);
  });

  it('refuses a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow(/at least 1/);
    expect(() => new Semaphore(1.5)).toThrow(/whole number/);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then holds the rate; an object larger than the burst passes and the next caller pays', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(1000, { burstBytes: 1000, ...time });
    await bucket.take(1000); // the burst
    expect(time.elapsed()).toBe(0);
    await bucket.take(3000); // bucket empty but not in debt: goes now, leaves 3000 of debt
    expect(time.elapsed()).toBe(0);
    await bucket.take(10);
    expect(time.elapsed()).toBe(3000);
    // Quiet for a long while: the bucket refills only up to the burst.
    time.clock.advance(60_000);
    await bucket.take(500);
    await bucket.take(600);
    const before = time.elapsed();
    await bucket.take(1);
    expect(time.elapsed() - before).toBe(100);
  });

  it('serves waiting callers in arrival order and keeps the average rate', async () => {
    const time = fakeTime();
    const bucket = new TokenBucket(1000, { burstBytes: 1000, ...time });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => bucket.take(1000).then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 10 000 bytes: 1000 of burst, and the last 1000 are paid by whoever comes next.
    expect(time.elapsed()).toBe(8000);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new TokenBucket(0)).toThrow(LifeboatError);
    expect(() => new TokenBucket(Number.NaN)).toThrow(/positive/);
  });
});

describe('BandwidthLimitBackend', () => {
  it('charges saves before and whole loads after, in both directions through one bucket', async () => {
    const time = fakeTime();
    const backend = new BandwidthLimitBackend(new MemoryBackend(), { bytesPerSec: 1000, burstBytes: 1000, ...time });
    const handle = dataHandle();
    await backend.save(handle, Buffer.alloc(2000)); // burst covers the start; 1000 of debt
    expect(time.elapsed()).toBe(0);
    expect((await backend.load(handle)).length).toBe(2000); // waits out the debt, then owes 2000
    expect(time.elapsed()).toBe(1000);
    expect((await backend.load(handle, { offset: 0, length: 500 })).length).toBe(500); // waits out 2000
    expect(time.elapsed()).toBe(3000);
    // Metadata calls are free.
    await backend.stat(handle);
    await listAll(backend, 'data');
    expect(time.elapsed()).toBe(3000);
  });
});

describe('wrapForTransfer', () => {
  it('composes retry outside concurrency: a call waiting out its backoff holds no slot', async () => {
    const memory = new MemoryBackend();
    let failNext = true;
    const flaky = new (class extends MemoryBackend {
      override async save(handle: Handle, data: Uint8Array): Promise<void> {
        if (handle.kind === 'index' && failNext) {
          failNext = false;
          throw new LifeboatError('BACKEND_UNAVAILABLE', 'reset', { retryable: true });
        }
        await memory.save(handle, data);
      }
    })();
    let releaseBackoff: () => void = () => undefined;
    const backoff = new Promise<void>((resolve) => (releaseBackoff = resolve));
    const backend = wrapForTransfer(flaky, {
      concurrency: 1,
      bandwidthBytesPerSec: 1e9,
      retry: { sleep: () => backoff, random: () => 0.5 },
    });
    const retried = backend.save({ kind: 'index', name: hexId() }, Buffer.from('i'));
    await tick();
    // With the only slot free during the backoff, another save goes through.
    await backend.save(dataHandle(), Buffer.from('d'));
    expect(memory.storedBytes).toBe(1);
    releaseBackoff();
    await retried;
    expect(memory.storedBytes).toBe(2);
    expect(backend.retryStats().retries).toBe(1);
  });

  it('without limits is just the retry wrapper', async () => {
    const backend = wrapForTransfer(new MemoryBackend());
    await backend.save(dataHandle(), Buffer.from('x'));
    expect(backend.inner).toBeInstanceOf(MemoryBackend);
  });
});
