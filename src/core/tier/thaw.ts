/**
 * The thaw state machine: make a set of packs in an archive storage class
 * (S3 GLACIER, DEEP_ARCHIVE) readable before a restore reads them.
 *
 * Per pack:
 *
 *   readable / thawed ─────────────────────────────────────────────▶ ready
 *   archived ── requestThaw ──▶ requested | in-progress ──▶ thawing ──poll──▶ ready
 *                               already-thawed ───────────────────────────▶ ready
 *   thawing (someone asked before us) ──────────────────────────────poll──▶ ready
 *
 * - Idempotent and resumable: a pack already thawing is never asked again (S3
 *   would answer 409 and a second request could bill twice on some stores);
 *   a pack found archived again while polling (its thawed copy expired, or a
 *   request was lost) is asked once more. Requests are never withdrawn, so
 *   when the deadline passes or the user cancels, a re-run picks the thaws up
 *   where they are without paying again.
 * - Polling backs off: the first poll after `firstPollMs`, each next one
 *   `factor` times later, never more than `maxPollMs` apart, and never past the
 *   deadline. Only packs not yet ready are polled (one HeadObject each).
 * - Packs in a class that needs no thaw (STANDARD_IA, GLACIER_IR, …) report
 *   `readable` and are ready at once, without any request.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { archiveStateOf, requestThawOf, type ArchiveStateName, type Backend, type ThawRequest } from '../backends/backend.js';
import { systemClock, type Clock } from '../clock.js';
import { LifeboatError } from '../errors.js';
import { formatDuration } from '../format.js';
import { mapLimit } from '../repo/repository.js';

export interface ThawPollPolicy {
  /** Wait before the first poll. */
  firstPollMs: number;
  /** Longest wait between two polls. */
  maxPollMs: number;
  /** Each wait is this many times the one before (capped by maxPollMs). */
  factor: number;
}

/**
 * S3 thaws take minutes (Expedited) to hours (Standard 3–5 h, Bulk 5–12 h,
 * Deep Archive up to 48 h) and are announced by nothing but HeadObject, so a
 * poll a minute after the request catches an Expedited thaw early, and a
 * 15-minute ceiling keeps a long thaw at four HeadObject calls an hour per pack.
 */
export const defaultThawPollPolicy: Readonly<ThawPollPolicy> = { firstPollMs: 60_000, maxPollMs: 15 * 60_000, factor: 2 };

/** HeadObject and RestoreObject calls in flight at once. */
const STATE_CONCURRENCY = 16;

export interface ThawProgress {
  ready: number;
  total: number;
  /** Packs asked to thaw by this call so far. */
  requested: number;
  elapsedMs: number;
  /** Wait until the next poll; undefined once everything is ready. */
  nextPollMs?: number;
}

export interface ThawInput {
  backend: Backend;
  /** Pack ids (data/ object names). */
  packs: readonly string[];
  request: ThawRequest;
  /** Give up (THAW_TIMEOUT) when packs are still thawing this long after the start. */
  deadlineMs: number;
  poll?: Partial<ThawPollPolicy>;
  signal?: AbortSignal;
  clock?: Pick<Clock, 'monotonicMs'>;
  /** Waits between polls (default: a real timer); must reject or resolve early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onProgress?: (p: ThawProgress) => void;
}

export interface ThawOutcome {
  total: number;
  /** Readable without a thaw (a class that needs none, or staged locally). */
  readable: number;
  /** Had a thawed copy already when we looked (or S3 said so: 200). */
  alreadyThawed: number;
  /** Asked to thaw by this call (S3 answered 202), re-requests after an expiry included. */
  requested: number;
  /** Were thawing already (requested by an earlier run: found thawing, or S3 answered 409). */
  inProgress: number;
  polls: number;
  elapsedMs: number;
}

/** Makes every pack readable, or throws THAW_TIMEOUT / CANCELLED. Never withdraws a request. */
export async function thawPacks(input: ThawInput): Promise<ThawOutcome> {
  const { backend, request, signal } = input;
  const clock = input.clock ?? systemClock;
  const sleep = input.sleep ?? abortableSleep;
  const policy: ThawPollPolicy = { ...defaultThawPollPolicy, ...input.poll };
  if (!(policy.firstPollMs > 0 && policy.maxPollMs >= policy.firstPollMs && policy.factor >= 1)) {
    throw new LifeboatError('USAGE', `thaw poll policy: expected 0 < first (${policy.firstPollMs} ms) ≤ max (${policy.maxPollMs} ms) and factor ≥ 1 (${policy.factor})`);
  }
  const started = clock.monotonicMs();
  const outcome: ThawOutcome = { total: input.packs.length, readable: 0, alreadyThawed: 0, requested: 0, inProgress: 0, polls: 0, elapsedMs: 0 };
  const handle = (pack: string) => ({ kind: 'data' as const, name: pack });
  const pending = new Set<string>();
  const cancelled = () => new LifeboatError('CANCELLED', `thaw cancelled with ${pending.size} of ${input.packs.length} pack(s) still thawing; the thaw requests stay in place, so running the restore again continues where this one stopped`);

  /** Asks for a thaw of an archived pack; true when it is readable already. */
  const ask = async (pack: string): Promise<boolean> => {
    const answer = await requestThawOf(backend, handle(pack), request);
    if (answer === 'already-thawed') outcome.alreadyThawed++;
    else if (answer === 'in-progress') outcome.inProgress++;
    else outcome.requested++;
    return answer === 'already-thawed';
  };

  // First look: what is ready, what needs asking, what is under way.
  await mapLimit([...new Set(input.packs)], STATE_CONCURRENCY, async (pack) => {
    if (signal?.aborted) throw cancelled();
    const { state } = await archiveStateOf(backend, handle(pack));
    if (state === 'readable') outcome.readable++;
    else if (state === 'thawed') outcome.alreadyThawed++;
    else if (state === 'thawing') {
      outcome.inProgress++;
      pending.add(pack);
    } else if (!(await ask(pack))) pending.add(pack);
  });
  outcome.total = new Set(input.packs).size;

  const progress = (nextPollMs?: number) =>
    input.onProgress?.({
      ready: outcome.total - pending.size,
      total: outcome.total,
      requested: outcome.requested,
      elapsedMs: Math.round(clock.monotonicMs() - started),
      ...(nextPollMs === undefined ? {} : { nextPollMs }),
    });

  let wait = policy.firstPollMs;
  while (pending.size > 0) {
    if (signal?.aborted) throw cancelled();
    const elapsed = clock.monotonicMs() - started;
    const left = input.deadlineMs - elapsed;
    if (left <= 0) {
      throw new LifeboatError(
        'THAW_TIMEOUT',
        `${pending.size} of ${outcome.total} pack(s) still thawing after ${formatDuration(elapsed)} (deadline ${formatDuration(input.deadlineMs)}, ${request.tier} retrieval); the thaw requests stay in place, so running the restore again later continues without requesting (or paying) again`,
        { details: { thawing: pending.size, total: outcome.total, elapsedMs: Math.round(elapsed), deadlineMs: input.deadlineMs } },
      );
    }
    const delay = Math.min(wait, left);
    progress(delay);
    try {
      await sleep(delay, signal);
    } catch (e) {
      if (signal?.aborted) throw cancelled();
      throw e;
    }
    if (signal?.aborted) throw cancelled();
    outcome.polls++;
    await mapLimit([...pending], STATE_CONCURRENCY, async (pack) => {
      const state: ArchiveStateName = (await archiveStateOf(backend, handle(pack))).state;
      // Archived again: the thawed copy expired before we saw it, or the request was lost. Ask once more.
      if (state === 'readable' || state === 'thawed' || (state === 'archived' && (await ask(pack)))) pending.delete(pack);
    });
    wait = Math.min(policy.maxPollMs, Math.max(wait * policy.factor, 1));
  }
  outcome.elapsedMs = Math.round(clock.monotonicMs() - started);
  progress();
  return outcome;
}

/** A real timer cut short by `signal` (resolves; the caller checks the signal). */
async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleepMs(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (e) {
    if ((e as { name?: string }).name !== 'AbortError') throw e;
  }
}
