import { setTimeout as sleepMs } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.js';
import { LifeboatError } from '../errors.js';
import { archiveStateOf, requestThawOf, saveFileOf, type ArchiveState, type Backend, type ByteRange, type FileKind, type RangeSink, type Handle, type ObjectInfo, type SaveOptions, type ThawRequest, type ThawRequestOutcome } from './backend.js';
import type { FileBody } from './file-body.js';

/** At most `limit` holders at once; the rest wait in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new LifeboatError('USAGE', `a concurrency limit must be a whole number of at least 1, got ${limit}`);
    }
  }

  /** Holders right now. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Takes a slot, waiting for one; give it back with release(). */
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    // The releasing holder hands its slot straight to us, so `active` stays as it is.
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.active -= 1;
    else next();
  }
}

export interface TokenBucketOptions {
  /** Bytes that may pass at once after a quiet spell (default: one second's worth). */
  burstBytes?: number;
  clock?: Pick<Clock, 'monotonicMs'>;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket in bytes that may go into debt: a caller waits until the
 * bucket is not negative, then takes all it asked for at once, so an object
 * larger than the burst still passes and the callers after it pay for it.
 * Over a few objects the rate holds; each object itself moves at line speed
 * (the Backend API hands whole buffers, not streams). Callers are served in
 * arrival order.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();
  private readonly burst: number;
  private readonly clock: Pick<Clock, 'monotonicMs'>;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly bytesPerSec: number,
    options: TokenBucketOptions = {},
  ) {
    if (!Number.isFinite(bytesPerSec) || bytesPerSec <= 0) {
      throw new LifeboatError('USAGE', `a bandwidth limit must be a positive number of bytes per second, got ${bytesPerSec}`);
    }
    this.burst = Math.max(1, options.burstBytes ?? bytesPerSec);
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms) => sleepMs(ms));
    this.tokens = this.burst;
    this.last = this.clock.monotonicMs();
  }

  /** Waits for the bucket to be out of debt, then takes `bytes` (0 just waits). */
  take(bytes: number): Promise<void> {
    const turn = this.queue.then(async () => {
      this.refill();
      while (this.tokens < 0) {
        await this.sleep(Math.ceil((-this.tokens / this.bytesPerSec) * 1000));
        this.refill();
      }
      this.tokens -= bytes;
    });
    this.queue = turn;
    return turn;
  }

  /** Takes `bytes` already moved (a download whose size was unknown up front), without waiting. */
  charge(bytes: number): void {
    this.refill();
    this.tokens -= bytes;
  }

  private refill(): void {
    const now = this.clock.monotonicMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
    this.last = now;
  }
}

/**
 * At most `limit` calls of the inner backend run at once (`transfer.concurrency`).
 * `list` takes no slot: a caller that lists and, for each entry, calls the
 * backend again would otherwise wait on itself.
 */
export class ConcurrencyLimitBackend implements Backend {
  readonly semaphore: Semaphore;
  /** Only where the inner backend has it; one slot for the whole request. */
  readonly loadRanges?: (handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink) => Promise<void>;

  constructor(
    readonly inner: Backend,
    limit: number,
  ) {
    this.semaphore = new Semaphore(limit);
    const { inner: backend } = this;
    if (backend.loadRanges) this.loadRanges = (handle, ranges, onRange) => this.semaphore.run(() => backend.loadRanges!(handle, ranges, onRange));
  }

  get location(): string {
    return this.inner.location;
  }

  get checksSavedSize(): boolean {
    return this.inner.checksSavedSize === true;
  }

  save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    return this.semaphore.run(() => this.inner.save(handle, data, options));
  }

  saveFile(handle: Handle, file: FileBody, options?: SaveOptions): Promise<void> {
    return this.semaphore.run(() => saveFileOf(this.inner, handle, file, options));
  }

  load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    return this.semaphore.run(() => this.inner.load(handle, range));
  }

  stat(handle: Handle): Promise<ObjectInfo> {
    return this.semaphore.run(() => this.inner.stat(handle));
  }

  archiveState(handle: Handle): Promise<ArchiveState> {
    return this.semaphore.run(() => archiveStateOf(this.inner, handle));
  }

  requestThaw(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
    return this.semaphore.run(() => requestThawOf(this.inner, handle, request));
  }

  list(kind: FileKind): AsyncIterable<ObjectInfo> {
    return this.inner.list(kind);
  }

  remove(handle: Handle): Promise<void> {
    return this.semaphore.run(() => this.inner.remove(handle));
  }

  create(): Promise<void> {
    return this.semaphore.run(() => this.inner.create());
  }

  exists(): Promise<boolean> {
    return this.semaphore.run(() => this.inner.exists());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface BandwidthLimitOptions extends TokenBucketOptions {
  bytesPerSec: number;
}

/**
 * Caps the bytes saved and loaded per second (`transfer.bandwidth`), both
 * directions through one bucket. Saves and range loads pay before they start;
 * whole loads wait for the bucket to be out of debt and pay for what arrived.
 * Metadata calls (stat, list, remove) are not charged.
 */
export class BandwidthLimitBackend implements Backend {
  readonly bucket: TokenBucket;

  constructor(
    readonly inner: Backend,
    options: BandwidthLimitOptions,
  ) {
    this.bucket = new TokenBucket(options.bytesPerSec, options);
  }

  get location(): string {
    return this.inner.location;
  }

  get checksSavedSize(): boolean {
    return this.inner.checksSavedSize === true;
  }

  async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    await this.bucket.take(data.length);
    await this.inner.save(handle, data, options);
  }

  async saveFile(handle: Handle, file: FileBody, options?: SaveOptions): Promise<void> {
    await this.bucket.take(file.size);
    await saveFileOf(this.inner, handle, file, options);
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    if (range !== undefined) {
      await this.bucket.take(range.length);
      return await this.inner.load(handle, range);
    }
    await this.bucket.take(0);
    const data = await this.inner.load(handle);
    this.bucket.charge(data.length);
    return data;
  }

  stat(handle: Handle): Promise<ObjectInfo> {
    return this.inner.stat(handle);
  }

  /** Metadata calls, not charged (like stat). */
  archiveState(handle: Handle): Promise<ArchiveState> {
    return archiveStateOf(this.inner, handle);
  }

  requestThaw(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
    return requestThawOf(this.inner, handle, request);
  }

  list(kind: FileKind): AsyncIterable<ObjectInfo> {
    return this.inner.list(kind);
  }

  remove(handle: Handle): Promise<void> {
    return this.inner.remove(handle);
  }

  create(): Promise<void> {
    return this.inner.create();
  }

  exists(): Promise<boolean> {
    return this.inner.exists();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
