import type { Clock } from '../clock.js';
import type { EventSink } from '../events.js';
import type { Backend } from './backend.js';
import { RetryBackend, type RetryBackendOptions } from './retry-backend.js';
import { BandwidthLimitBackend, ConcurrencyLimitBackend } from './throttle-backend.js';

export interface TransferOptions {
  /** Backend calls in flight at once (`transfer.concurrency`); unlimited when absent. */
  concurrency?: number;
  /** Bytes per second saved plus loaded (`transfer.bandwidthBytesPerSec`); unlimited when absent. */
  bandwidthBytesPerSec?: number;
  /** How long the destination may keep failing before calls give up (default 5 min). */
  retryBudgetMs?: number;
  /** Receives `retry` events. */
  emit?: EventSink;
  runId?: string;
  /** Finer retry settings, and the sleep, random and clock that tests replace. */
  retry?: Omit<RetryBackendOptions, 'emit' | 'runId' | 'budgetMs'>;
  /** Clock and sleep of the bandwidth cap (tests). */
  clock?: Pick<Clock, 'monotonicMs'>;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The backend a transfer stage talks to: retry ∘ concurrency ∘ bandwidth ∘ backend.
 *
 * - Retry is outermost, so a call waiting out its backoff holds no concurrency
 *   slot, and a retried save pays the bandwidth cap again (its bytes do cross
 *   the wire again).
 * - The bandwidth wait happens inside a slot, so at most `concurrency` calls
 *   are queued on the cap and the rest wait their turn in arrival order.
 * The result is the RetryBackend: read `retryStats()` for the run record.
 */
export function wrapForTransfer(backend: Backend, options: TransferOptions = {}): RetryBackend {
  let wrapped = backend;
  if (options.bandwidthBytesPerSec !== undefined) {
    wrapped = new BandwidthLimitBackend(wrapped, {
      bytesPerSec: options.bandwidthBytesPerSec,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
  }
  if (options.concurrency !== undefined) wrapped = new ConcurrencyLimitBackend(wrapped, options.concurrency);
  return new RetryBackend(wrapped, {
    ...options.retry,
    ...(options.retryBudgetMs === undefined ? {} : { budgetMs: options.retryBudgetMs }),
    ...(options.emit === undefined ? {} : { emit: options.emit }),
    ...(options.runId === undefined ? {} : { runId: options.runId }),
  });
}
