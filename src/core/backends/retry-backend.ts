import { setTimeout as sleepMs } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.js';
import { describeError, isLifeboatError } from '../errors.js';
import { ignoreEvents, type EventSink } from '../events.js';
import type { FileBody } from './file-body.js';
import { archiveStateOf, requestThawOf, saveFileOf, type ArchiveState, type Backend, type ByteRange, type FileKind, type RangeSink, type Handle, type ObjectInfo, type SaveOptions, type ThawRequest, type ThawRequestOutcome } from './backend.js';

export type RetryOperation = 'save' | 'load' | 'stat' | 'list' | 'remove' | 'create' | 'exists';

export interface RetryPolicy {
  /** Backoff ceiling of the first retry; it doubles per retry (default 200 ms). */
  baseDelayMs: number;
  /** Backoff ceiling never grows past this (default 20 s). */
  maxDelayMs: number;
  /** Attempts per operation, the first one included (default 25). */
  maxAttempts: number;
  /**
   * How long the backend may keep failing, counted from the first failure
   * since the last success of any operation, before every operation gives up
   * with its last error (default 5 min). A flaky link that still moves data
   * never exhausts it; a destination that is down does, once, for all callers.
   */
  budgetMs: number;
}

export const defaultRetryPolicy: Readonly<RetryPolicy> = {
  baseDelayMs: 200,
  maxDelayMs: 20_000,
  // At the 20 s ceiling (10 s average) 25 attempts span about 4 minutes, so for an outage the budget decides.
  maxAttempts: 25,
  budgetMs: 5 * 60_000,
};

export interface RetryBackendOptions extends Partial<RetryPolicy> {
  /** Waits between attempts (default: a real timer). Tests pass one that advances a fake clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1) (default Math.random): the jitter. */
  random?: () => number;
  /** Measures the budget (monotonic ms). */
  clock?: Pick<Clock, 'monotonicMs'>;
  /** Receives a `retry` event before every wait. */
  emit?: EventSink;
  /** Put on the `retry` events, so faces can tie them to a run. */
  runId?: string;
}

export interface RetryStats {
  /** Retries made (attempts after the first), in total and by operation. */
  retries: number;
  byOperation: Record<RetryOperation, number>;
  /** Operations that failed for good with a retryable error (attempts or budget used up). */
  gaveUp: number;
  /** Did the budget run out (the destination stayed down)? Reset by the next success. */
  budgetExhausted: boolean;
}

/**
 * The wait before retry number `retry` (1-based): "full jitter" — uniform in
 * [0, min(maxDelayMs, baseDelayMs · 2^(retry-1))). Spreading waits over the
 * whole window keeps many clients that failed together from retrying together
 * (the AWS architecture blog's "Exponential Backoff and Jitter").
 */
export function backoffDelayMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Retries the calls of any backend that fail with a retryable LifeboatError
 * (BACKEND_UNAVAILABLE, transient BACKEND_IO), with exponential backoff and
 * full jitter, a per-operation attempt limit and a budget shared by all calls
 * (see RetryPolicy). Permanent errors (missing bucket, denied, not found, bad
 * range) and errors that are no LifeboatError fail at once, unchanged. When
 * retrying stops, the caller gets the last error as it was thrown.
 *
 * Retrying is safe because of the Backend contract: saves replace atomically,
 * loads and stats are reads, remove and create are idempotent. A listing that
 * fails part-way restarts and skips the names it already yielded.
 */
export class RetryBackend implements Backend {
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly clock: Pick<Clock, 'monotonicMs'>;
  private readonly emit: EventSink;
  private readonly runId: string | undefined;
  /** When the current run of failures began (undefined while calls succeed). */
  private failingSince: number | undefined;
  private budgetExhausted = false;
  private readonly counts: RetryStats['byOperation'] = { save: 0, load: 0, stat: 0, list: 0, remove: 0, create: 0, exists: 0 };
  private gaveUp = 0;
  /** Only where the inner backend reads ranges in one request (Backend.loadRanges). */
  readonly loadRanges?: (handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink) => Promise<void>;

  constructor(
    readonly inner: Backend,
    options: RetryBackendOptions = {},
  ) {
    if (inner.loadRanges) this.loadRanges = (handle, ranges, onRange) => this.retryRanges(handle, ranges, onRange);
    this.policy = {
      baseDelayMs: options.baseDelayMs ?? defaultRetryPolicy.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? defaultRetryPolicy.maxDelayMs,
      maxAttempts: Math.max(1, options.maxAttempts ?? defaultRetryPolicy.maxAttempts),
      budgetMs: options.budgetMs ?? defaultRetryPolicy.budgetMs,
    };
    this.sleep = options.sleep ?? ((ms) => sleepMs(ms));
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
    this.emit = options.emit ?? ignoreEvents;
    this.runId = options.runId;
  }

  get location(): string {
    return this.inner.location;
  }

  get checksSavedSize(): boolean {
    return this.inner.checksSavedSize === true;
  }

  /** A snapshot of the counters, for the run record. */
  retryStats(): RetryStats {
    let retries = 0;
    for (const n of Object.values(this.counts)) retries += n;
    return { retries, byOperation: { ...this.counts }, gaveUp: this.gaveUp, budgetExhausted: this.budgetExhausted };
  }

  /** Retries made so far, all operations. */
  get retries(): number {
    return this.retryStats().retries;
  }

  save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    return this.run('save', describeHandle(handle), () => this.inner.save(handle, data, options));
  }

  /** Retried as a save: each attempt reads the file afresh (file-body.ts). */
  saveFile(handle: Handle, file: FileBody, options?: SaveOptions): Promise<void> {
    return this.run('save', describeHandle(handle), () => saveFileOf(this.inner, handle, file, options));
  }

  load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    return this.run('load', describeHandle(handle), () => this.inner.load(handle, range));
  }

  /**
   * Retried as loads; a retry asks only for the ranges not handed over yet, so
   * none is delivered twice. An attempt that delivered one starts the attempt
   * count afresh (a long read that keeps moving never runs out), as a listing
   * does. The caller's own errors are thrown at once.
   */
  private async retryRanges(handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink): Promise<void> {
    let delivered = 0;
    for (let attempt = 1; ; attempt++) {
      let progressed = false;
      let callerFailed: { error: unknown } | undefined;
      /** A range being handed over: the read can fail meanwhile (an idle socket while the caller waits). */
      let handing: Promise<void> | undefined;
      try {
        await this.inner.loadRanges!(handle, ranges.slice(delivered), (_, bytes) => {
          handing = (async () => {
            try {
              await onRange(delivered, bytes);
            } catch (e) {
              callerFailed = { error: e };
              throw e;
            }
            delivered++;
            if (!progressed) {
              progressed = true;
              this.succeeded();
            }
          })();
          return handing;
        });
        this.succeeded();
        return;
      } catch (error) {
        // Count what that handover delivers before asking again, so no range goes out twice.
        await handing?.catch(() => undefined);
        if (callerFailed !== undefined) throw callerFailed.error;
        if (progressed) attempt = 1;
        await this.beforeRetry('load', describeHandle(handle), error, attempt);
      }
    }
  }

  stat(handle: Handle): Promise<ObjectInfo> {
    return this.run('stat', describeHandle(handle), () => this.inner.stat(handle));
  }

  /** Retried like a stat (it is a HEAD), and counted as one. */
  archiveState(handle: Handle): Promise<ArchiveState> {
    return this.run('stat', `${describeHandle(handle)} (archive state)`, () => archiveStateOf(this.inner, handle));
  }

  /** Safe to retry: asking again answers "in progress" or "already thawed"; counted with the stats (a metadata call). */
  requestThaw(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
    return this.run('stat', `${describeHandle(handle)} (thaw request)`, () => requestThawOf(this.inner, handle, request));
  }

  remove(handle: Handle): Promise<void> {
    return this.run('remove', describeHandle(handle), () => this.inner.remove(handle));
  }

  create(): Promise<void> {
    return this.run('create', this.inner.location, () => this.inner.create());
  }

  exists(): Promise<boolean> {
    return this.run('exists', this.inner.location, () => this.inner.exists());
  }

  async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
    const yielded = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      let progressed = false;
      try {
        for await (const info of this.inner.list(kind)) {
          if (yielded.has(info.name)) continue;
          if (!progressed) {
            progressed = true;
            this.succeeded();
          }
          yielded.add(info.name);
          yield info;
        }
        this.succeeded();
        return;
      } catch (error) {
        // A listing that brought new names starts its attempt count afresh (pages are what
        // fails); one that only repeated old names counts on, so it cannot loop forever.
        if (progressed) attempt = 1;
        await this.beforeRetry('list', `${kind}/`, error, attempt);
      }
    }
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  private async run<T>(op: RetryOperation, what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await call();
        this.succeeded();
        return result;
      } catch (error) {
        await this.beforeRetry(op, what, error, attempt);
      }
    }
  }

  private succeeded(): void {
    this.failingSince = undefined;
    this.budgetExhausted = false;
  }

  /** Rethrows `error` unless another attempt is due; otherwise counts, announces and waits. */
  private async beforeRetry(op: RetryOperation, what: string, error: unknown, attempt: number): Promise<void> {
    if (!isLifeboatError(error) || !error.retryable) throw error;
    const now = this.clock.monotonicMs();
    this.failingSince ??= now;
    const budgetLeft = this.policy.budgetMs - (now - this.failingSince);
    if (budgetLeft <= 0) this.budgetExhausted = true;
    if (budgetLeft <= 0 || attempt >= this.policy.maxAttempts) {
      this.gaveUp += 1;
      throw error;
    }
    const delayMs = Math.min(backoffDelayMs(attempt, this.policy, this.random), budgetLeft);
    this.counts[op] += 1;
    // `attempt` on the event is the one about to be made (2 for the first retry).
    this.emit({
      type: 'retry',
      ...(this.runId === undefined ? {} : { runId: this.runId }),
      operation: `${op} ${what}`,
      attempt: attempt + 1,
      delayMs,
      error: describeError(error).message,
    });
    await this.sleep(delayMs);
  }
}

function describeHandle(handle: Handle): string {
  return handle.kind === 'config' ? 'config' : `${handle.kind}/${handle.name}`;
}
