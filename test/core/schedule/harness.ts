/**
 * A Scheduler on a FakeClock and FakeTimers with a real state file, whose
 * `run`, `announce` and `skipped` write what happened, with the fake time it
 * happened at, into one log the tests read.
 */
import { FakeClock } from '../../../src/core/clock.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { FileScheduleState, scheduleStatePath } from '../../../src/core/schedule/state.js';
import { Scheduler, type SchedulerOptions } from '../../../src/core/schedule/scheduler.js';
import type { Job, SkipReason } from '../../../src/core/schedule/job.js';
import { FakeTimers } from '../../../src/core/schedule/timers.js';

export interface Happening {
  what: 'run' | 'announce' | SkipReason;
  runbook: string;
  kind: string;
  scheduledAt: string;
  /** The fake time it happened at. */
  at: string;
  catchUp: boolean;
  runAt: string;
}

export interface HarnessOptions {
  start: string;
  /** The state folder; reuse one to simulate a restart. */
  home: string;
  runbooks: Runbook[];
  graceMs?: number;
  jitterMs?: number;
  random?: () => number;
  /** Runs of these runbooks stay running until `release(runbook)`, which also stops holding later ones; the others end at once. */
  hold?: string[];
}

export async function schedulerHarness(options: HarnessOptions) {
  const clock = new FakeClock(options.start);
  const timers = new FakeTimers(clock);
  const state = await FileScheduleState.open(scheduleStatePath(options.home));
  const log: Happening[] = [];
  const errors: unknown[] = [];
  const holding = new Set(options.hold);
  const held = new Map<string, { release: () => void; signal: AbortSignal }>();
  const note = (what: Happening['what'], job: Job) =>
    log.push({
      what,
      runbook: job.runbook,
      kind: job.kind,
      scheduledAt: job.scheduledAt.toISOString(),
      at: clock.now().toISOString(),
      catchUp: job.catchUp,
      runAt: job.runAt.toISOString(),
    });
  const schedulerOptions: SchedulerOptions = {
    clock,
    timers,
    state,
    graceMs: options.graceMs ?? 3_600_000,
    jitterMs: options.jitterMs,
    random: options.random,
    run: async (job, signal) => {
      note('run', job);
      if (!holding.has(job.runbook)) return;
      await new Promise<void>((resolve) => held.set(job.runbook, { release: resolve, signal }));
      held.delete(job.runbook);
    },
    announce: async (job) => {
      note('announce', job);
    },
    skipped: async (job, reason) => {
      note(reason, job);
    },
    onError: (e) => errors.push(e),
  };
  const scheduler = new Scheduler(schedulerOptions);
  scheduler.setRunbooks(options.runbooks);

  /** Lets the scheduler's state writes and callbacks finish, and runs that are not held. */
  const settle = async () => {
    await scheduler.settled();
    // Runs that are not held end in a few promise reactions; they are all done before the next macrotask.
    await new Promise((resolve) => setImmediate(resolve));
    await scheduler.settled();
  };

  return {
    clock,
    timers,
    state,
    scheduler,
    log,
    errors,
    held,
    settle,
    async start() {
      scheduler.start();
      await settle();
    },
    /** Walks fake time to `to` in steps of `stepMs`, settling after each. */
    async walk(to: string, stepMs = 60_000) {
      const end = new Date(to).getTime();
      while (clock.now().getTime() < end) {
        timers.advanceTo(new Date(Math.min(end, clock.now().getTime() + stepMs)));
        await settle();
      }
    },
    async release(runbook: string) {
      const h = held.get(runbook);
      if (!h) throw new Error(`no held run of ${runbook}`);
      holding.delete(runbook);
      h.release();
      await settle();
    },
    runs: () => log.filter((h) => h.what === 'run'),
  };
}

/** A small seeded generator (mulberry32), so jitter is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
