/**
 * Delivering the outbox: the deliveries that alert transitions wrote to the
 * store (src/core/notify/routing.ts), sent through the sinks this process can
 * build. Any number of processes may do this at once; the store's claims
 * (Store.claimDeliveries) make sure no two send the same delivery at the same
 * time, and only an alert's oldest undelivered message to a sink is ever due,
 * so each alert reaches each sink in order.
 *
 * At-least-once: a process that dies after sending and before recording
 * leaves its claim to lapse, and the delivery is sent again (with the same
 * idempotency key). Nothing pending is dropped: a transient failure is retried
 * with backoff (./backoff.ts) for as long as it takes; only a permanent one
 * (SinkError.permanent) is given up and marked failed.
 *
 * serve runs startOutboxLoop; a CLI or TUI command calls deliverDue once at
 * its end with a small budget, and what it does not finish stays pending for
 * serve or the next command.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import type { ClaimedDelivery, Store } from '../store/store.js';
import { retryDelayMs } from './backoff.js';
import { SinkError, type Sink, type SinkMessage } from './sink.js';

/**
 * How long a claim holds. Longer than any sink's own timeout, so a live
 * sender never loses its claim mid-send; a send still running at 80% of it
 * is aborted (and retried) rather than risk a second process sending too.
 */
export const DEFAULT_LEASE_MS = 60_000;

export interface DeliverDueOptions {
  store: Store;
  /** The sinks this process can build (it has their secrets); others' deliveries are left for a process that can. */
  sinks: ReadonlyMap<string, Sink>;
  clock: Clock;
  /** This deliverer's claim name (outboxOwner()). */
  owner: string;
  /** Stop claiming after this long; sends still running then are aborted and retried later. */
  budgetMs: number;
  /** Stops at once, recording nothing more: claims in flight lapse and another process delivers them. */
  signal?: AbortSignal;
  leaseMs?: number;
  /** Deliveries sent at once (each a different alert or sink). */
  concurrency?: number;
  /** For the retry jitter; tests pin it. */
  random?: () => number;
  /** Told of each attempt that did not deliver (for a log line). */
  onProblem?(problem: DeliveryProblem): void;
}

export interface DeliveryProblem {
  delivery: ClaimedDelivery;
  /** What the sink said (its name and host, never a secret), plus when it is tried again. */
  message: string;
  permanent: boolean;
}

export interface DeliveryCounts {
  delivered: number;
  /** Given up (permanent errors) in this call. */
  failed: number;
  /** Failed in this call, to be tried again later. */
  retrying: number;
  /** Deliveries of these sinks still pending in the store when the call ended (due later, claimed elsewhere, or not reached). */
  left: number;
}

/** A claim name unique to this process and call site: host, pid and randomness. */
export function outboxOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export async function deliverDue(options: DeliverDueOptions): Promise<DeliveryCounts> {
  const { store, sinks, clock, owner } = options;
  const counts: DeliveryCounts = { delivered: 0, failed: 0, retrying: 0, left: 0 };
  if (sinks.size === 0) return counts;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const budget = new AbortController();
  const budgetTimer = setTimeout(() => budget.abort(), options.budgetMs);
  budgetTimer.unref();
  const stopped = () => budget.signal.aborted || options.signal?.aborted === true;
  try {
    while (!stopped()) {
      const claimed = await store.claimDeliveries({ owner, sinks: [...sinks.keys()], now: clock.now(), leaseMs, limit: options.concurrency ?? 8 });
      if (claimed.length === 0) break;
      // Claims are heads of distinct (alert, sink) queues, so they may all go at once without reordering anything.
      await Promise.all(claimed.map((d) => sendOne(d, sinks.get(d.sink)!, budget.signal, leaseMs, options, counts)));
    }
  } finally {
    clearTimeout(budgetTimer);
  }
  if (options.signal?.aborted !== true) {
    const names = new Set(sinks.keys());
    counts.left = (await store.listDeliveries({ status: 'pending' })).filter((d) => names.has(d.sink)).length;
  }
  return counts;
}

async function sendOne(delivery: ClaimedDelivery, sink: Sink, budget: AbortSignal, leaseMs: number, options: DeliverDueOptions, counts: DeliveryCounts): Promise<void> {
  const { store, clock, owner } = options;
  const message: SinkMessage = {
    transition: delivery.transition,
    alert: delivery.alert,
    idempotencyKey: delivery.id,
    ...(delivery.previous ? { previous: delivery.previous } : {}),
    at: delivery.createdAt,
  };
  const signals = [budget, AbortSignal.timeout(Math.floor(leaseMs * 0.8)), ...(options.signal ? [options.signal] : [])];
  let outcome: { ok: true; receipt?: Record<string, string> } | { ok: false; error: unknown };
  try {
    const receipt = await sink.send(message, AbortSignal.any(signals));
    outcome = { ok: true, ...(receipt ? { receipt } : {}) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // Stopped from outside (shutdown): record nothing; the claim lapses and whoever runs next sends it.
  if (options.signal?.aborted === true) return;
  const at = clock.now();
  if (outcome.ok) {
    if (await store.finishDelivery(delivery.id, owner, { ok: true, at, ...(outcome.receipt ? { receipt: outcome.receipt } : {}) })) counts.delivered++;
    return;
  }
  const permanent = outcome.error instanceof SinkError && outcome.error.permanent;
  const failures = delivery.attempts + 1;
  const waitMs = Math.max(retryDelayMs(failures, options.random), retryAfterOf(outcome.error));
  const nextAttemptAt = new Date(at.getTime() + waitMs);
  const error = describeError(outcome.error, sink, budget.aborted);
  const recorded = await store.finishDelivery(delivery.id, owner, { ok: false, at, error, permanent, nextAttemptAt });
  if (!recorded) return;
  if (permanent) counts.failed++;
  else counts.retrying++;
  options.onProblem?.({
    delivery,
    permanent,
    message: permanent ? `${error} (given up)` : `${error} (attempt ${failures}; next at ${nextAttemptAt.toISOString()})`,
  });
}

/** A sink that was told when to come back (HTTP 429 Retry-After) is not asked sooner. */
function retryAfterOf(error: unknown): number {
  const value = error instanceof SinkError ? (error as SinkError & { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Sinks' errors name the sink and the host and never a secret (the Sink
 * contract); anything else a sink throws gets the sink's name put in front.
 */
function describeError(error: unknown, sink: Sink, outOfTime: boolean): string {
  if (outOfTime) return `${sink.name} (${sink.type}): not finished within this process's delivery budget`;
  const text = error instanceof Error ? error.message : String(error);
  return error instanceof SinkError || text.startsWith(sink.name) ? text : `${sink.name} (${sink.type}): ${text}`;
}

export interface OutboxLoopOptions extends Omit<DeliverDueOptions, 'budgetMs' | 'signal' | 'sinks'> {
  /** The sinks, or where to get them before each pass (serve rebuilds them when its runbooks change). */
  sinks: ReadonlyMap<string, Sink> | (() => ReadonlyMap<string, Sink>);
  /** How often it looks without being woken (1 s: a retry falls due, another process wrote a transition). */
  intervalMs?: number;
  /** Upper bound on one pass, so a stuck sink cannot hold the loop. */
  passBudgetMs?: number;
  onPass?(counts: DeliveryCounts): void;
  /** A pass that threw (the store unreadable): reported, and the loop goes on. */
  onError?(error: unknown): void;
}

export interface OutboxLoop {
  /** Look now (this process just wrote a transition). */
  wake(): void;
  /** Stop, aborting sends in flight without recording them (their claims lapse); resolves when the loop has ended. */
  stop(): Promise<void>;
}

/** serve's deliverer: a pass every interval or on wake, until stopped. */
export function startOutboxLoop(options: OutboxLoopOptions): OutboxLoop {
  const stop = new AbortController();
  const intervalMs = options.intervalMs ?? 1_000;
  let woken = false;
  let rouse: (() => void) | undefined;
  const nap = () =>
    new Promise<void>((resolve) => {
      if (woken || stop.signal.aborted) return resolve();
      const timer = setTimeout(done, intervalMs);
      function done() {
        clearTimeout(timer);
        rouse = undefined;
        resolve();
      }
      rouse = done;
    });
  const loop = (async () => {
    while (!stop.signal.aborted) {
      woken = false;
      try {
        const sinks = typeof options.sinks === 'function' ? options.sinks() : options.sinks;
        const counts = await deliverDue({ ...options, sinks, budgetMs: options.passBudgetMs ?? 5 * 60_000, signal: stop.signal });
        if (!stop.signal.aborted) options.onPass?.(counts);
      } catch (e) {
        if (!stop.signal.aborted) options.onError?.(e);
      }
      await nap();
    }
  })();
  return {
    wake: () => {
      woken = true;
      rouse?.();
    },
    stop: async () => {
      stop.abort();
      rouse?.();
      await loop;
    },
  };
}
