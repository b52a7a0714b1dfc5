/**
 * Keeps the runbooks' schedules: arms a timer for the next fire of each runbook
 * and kind, hands due jobs to `run`, and decides — synchronously, when a timer
 * goes off — whether a fire runs, catches up or is skipped. It runs nothing
 * itself; whoever drives it (serve) does the backups, drills and reporting.
 *
 * Rules:
 * - Jobs of one runbook never overlap, whatever their kinds: backup, verify,
 *   drill and tier all work on the same repository. A fire that comes while one
 *   runs is skipped and reported (`overlap`), not queued, so a slow job cannot
 *   build a backlog.
 * - A fire is recorded as handled when its job starts (or is skipped), before
 *   `run`, so a crash mid-run is not run again on restart.
 * - At start-up, for each runbook and kind, only the latest fire missed since
 *   the last one handled can run, once, and only when it is at most `graceMs`
 *   old; an older one is reported `missed`. Never a burst of catch-ups. The
 *   same holds when a timer goes off late (the machine slept).
 * - A runbook or kind seen for the first time has nothing to catch up; its
 *   latest past fire is recorded so that later downtime is noticed.
 * - `setRunbooks` on reload re-arms every timer from the new schedules; jobs
 *   that are running are not touched. A fire whose time did not change keeps
 *   its jitter, and a drill is announced once per fire.
 */
import type { Clock } from '../clock.js';
import type { Runbook } from '../runbook/types.js';
import { cronSchedule, type CronSchedule } from './cron.js';
import { scheduledKinds, type Job, type ScheduleKind, type SkipReason } from './job.js';
import type { ScheduleState } from './state.js';
import { alarmAt, type Alarm, type Timers } from './timers.js';

export interface SchedulerOptions {
  clock: Clock;
  timers: Timers;
  state: ScheduleState;
  /** How late a missed fire may still run (once) at start-up or after a late timer. */
  graceMs: number;
  /** Spread runs over this many ms after their fire time, so many runbooks do not hit storage at once. Keep it well under the shortest schedule period. */
  jitterMs?: number;
  /** 0 ≤ random() < 1; injected so tests get the same jitter every time. */
  random?: () => number;
  /** Does the work. `signal` aborts when `cancelRunning` is called (shutdown past its deadline). */
  run(job: Job, signal: AbortSignal): Promise<void>;
  /** Called `drill.announceMs` before a scheduled drill's runAt, for runbooks that set `drill.announce`. */
  announce?(job: Job): Promise<void>;
  /** A fire that did not run (see SkipReason); record it. */
  skipped?(job: Job, reason: SkipReason): Promise<void>;
  /** A fire the state says is not ours (another serve handled it, or this one no longer leads): neither run nor reported here. */
  notOurs?(job: Job): void;
  /** Every failure of the callbacks above or of the state file; the scheduler carries on. */
  onError(error: unknown, job: Job): void;
}

interface Slot {
  runbook: Runbook;
  kind: ScheduleKind;
  cron: CronSchedule;
  /** The armed next fire. */
  job?: Job;
  alarm?: Alarm;
  announceAlarm?: Alarm;
}

interface RunningJob {
  job: Job;
  controller: AbortController;
}

/** A timer this late is still on time, whatever the grace: event loops are busy, grace may be 0. */
const ON_TIME_MS = 60_000;

const slotKey = (runbook: string, kind: ScheduleKind) => `${runbook}\u0000${kind}`;

export class Scheduler {
  private runbooks: readonly Runbook[] = [];
  private slots = new Map<string, Slot>();
  private readonly active = new Map<string, RunningJob>();
  /** Promises of running jobs, for `finished`. */
  private readonly runs = new Set<Promise<void>>();
  /** State writes and callbacks in flight, for `settled`. */
  private readonly bookkeeping = new Set<Promise<void>>();
  private readonly announced = new Set<string>();
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(private readonly options: SchedulerOptions) {
    if (!(options.graceMs >= 0)) throw new RangeError(`graceMs must be 0 or more, got ${options.graceMs}`);
    if (!((options.jitterMs ?? 0) >= 0)) throw new RangeError(`jitterMs must be 0 or more, got ${options.jitterMs}`);
  }

  /** The runbooks to keep, initially and after every reload. Safe to call before or after `start`. */
  setRunbooks(runbooks: readonly Runbook[]): void {
    this.runbooks = runbooks;
    if (this.state === 'started') this.rearm(false);
  }

  /** Catches up what was missed (within grace), then arms the timers. */
  start(): void {
    if (this.state !== 'new') throw new Error(`Scheduler.start: already ${this.state}`);
    this.state = 'started';
    this.rearm(true);
  }

  /** Takes no new work: clears every timer and waits for bookkeeping in flight. Running jobs go on (see `finished`, `cancelRunning`). */
  async stop(): Promise<void> {
    this.state = 'stopped';
    for (const slot of this.slots.values()) this.disarm(slot);
    await this.settled();
  }

  /** Aborts the signal of every running job (a shutdown whose deadline passed). */
  cancelRunning(): void {
    for (const r of this.active.values()) r.controller.abort(new Error('scheduler shutting down'));
  }

  /** Resolves when no job is running. */
  async finished(): Promise<void> {
    while (this.runs.size > 0) await Promise.all(this.runs);
  }

  /** Resolves when no state write or callback (other than `run`) is in flight. */
  async settled(): Promise<void> {
    while (this.bookkeeping.size > 0) await Promise.all(this.bookkeeping);
  }

  running(): Job[] {
    return [...this.active.values()].map((r) => r.job);
  }

  /** The armed next fire of every runbook and kind, soonest first. */
  upcoming(limit = Infinity): Job[] {
    return [...this.slots.values()]
      .flatMap((s) => (s.job ? [s.job] : []))
      .sort((a, b) => a.runAt.getTime() - b.runAt.getTime() || a.runbook.localeCompare(b.runbook))
      .slice(0, limit);
  }

  private rearm(startingUp: boolean): void {
    // Parse every schedule before touching a timer: a schedule that does not parse throws here and changes nothing.
    const slots = this.runbooks.flatMap((runbook) =>
      scheduledKinds(runbook).map(({ kind, expression }): Slot => ({ runbook, kind, cron: cronSchedule(expression, runbook.schedule?.timezone) })),
    );
    const now = this.options.clock.now();
    const old = this.slots;
    this.slots = new Map();
    for (const slot of old.values()) this.disarm(slot);
    for (const slot of slots) {
      const key = slotKey(slot.runbook.name, slot.kind);
      this.slots.set(key, slot);
      if (startingUp || !old.has(key)) this.catchUp(slot, now, startingUp);
      this.arm(slot, now, old.get(key)?.job);
    }
  }

  /** At start-up: run or report the latest fire missed while down. A pair never seen before gets its baseline. */
  private catchUp(slot: Slot, now: Date, startingUp: boolean): void {
    const name = slot.runbook.name;
    const last = this.options.state.lastHandled(name, slot.kind);
    const latest = slot.cron.previousAtOrBefore(now);
    if (!latest) return;
    if (!last) {
      this.track(this.record({ runbook: name, kind: slot.kind, scheduledAt: latest, runAt: latest, catchUp: false }).then(() => undefined));
      return;
    }
    // A pair that comes back on reload was not "down"; only start-up catches up.
    if (!startingUp || latest.getTime() <= last.getTime()) return;
    this.late(name, slot.kind, latest, now);
  }

  /** A fire whose time passed unseen: run it now within grace, else report it. */
  private late(runbook: string, kind: ScheduleKind, scheduledAt: Date, now: Date): void {
    const job: Job = { runbook, kind, scheduledAt, runAt: now, catchUp: true };
    if (now.getTime() - scheduledAt.getTime() <= this.options.graceMs) this.dispatch(job);
    else this.skip(job, 'missed');
  }

  private arm(slot: Slot, now: Date, previous: Job | undefined): void {
    // On reload, a fire that is due but still waiting out its jitter must not be lost.
    const after = previous && previous.scheduledAt.getTime() <= now.getTime() ? new Date(previous.scheduledAt.getTime() - 1) : now;
    const scheduledAt = slot.cron.nextAfter(after);
    if (!scheduledAt) return;
    // Same fire as before the reload: keep its runAt so jitter does not move it again.
    const job: Job =
      previous && previous.scheduledAt.getTime() === scheduledAt.getTime()
        ? previous
        : { runbook: slot.runbook.name, kind: slot.kind, scheduledAt, runAt: new Date(scheduledAt.getTime() + this.jitter()), catchUp: false };
    slot.job = job;
    slot.alarm = alarmAt(this.options.timers, this.options.clock, job.runAt, () => this.fire(slot, job));
    const announceMs = slot.runbook.drill.announceMs;
    if (slot.kind === 'drill' && announceMs !== undefined && this.options.announce && !this.announced.has(announceKey(job))) {
      // Started inside the announcement window: announce now, late rather than never.
      slot.announceAlarm = alarmAt(this.options.timers, this.options.clock, new Date(job.runAt.getTime() - announceMs), () => this.announce(job));
    }
  }

  private disarm(slot: Slot): void {
    slot.alarm?.cancel();
    slot.announceAlarm?.cancel();
    slot.alarm = slot.announceAlarm = undefined;
  }

  private jitter(): number {
    const jitterMs = this.options.jitterMs ?? 0;
    return jitterMs === 0 ? 0 : Math.floor((this.options.random ?? Math.random)() * jitterMs);
  }

  private fire(slot: Slot, job: Job): void {
    if (this.state !== 'started') return;
    this.announced.delete(announceKey(job));
    const now = this.options.clock.now();
    if (now.getTime() - job.runAt.getTime() > Math.max(this.options.graceMs, ON_TIME_MS)) {
      // The timer went off far too late (the machine slept): same rule as a start-up.
      // Fires it slept through are superseded by the latest one, as at start-up.
      this.late(job.runbook, job.kind, slot.cron.previousAtOrBefore(now) ?? job.scheduledAt, now);
    } else {
      this.dispatch(job);
    }
    this.arm(slot, now, undefined);
  }

  /** Starts `job` unless its runbook is busy. The decision is synchronous, so two fires at one instant cannot both start. */
  private dispatch(job: Job): void {
    if (this.active.has(job.runbook)) {
      this.skip(job, 'overlap');
      return;
    }
    const running: RunningJob = { job, controller: new AbortController() };
    this.active.set(job.runbook, running);
    // `settled` waits until `run` has been called (or the job turned away), not for the run itself.
    let begun!: () => void;
    this.track(new Promise<void>((resolve) => (begun = resolve)));
    const done = (async () => {
      try {
        if (!(await this.record(job))) return;
        if (this.state === 'stopped') {
          await this.report(job, 'shutting-down');
          return;
        }
        const work = this.options.run(job, running.controller.signal);
        begun();
        await work;
      } finally {
        begun();
      }
    })()
      .catch((e: unknown) => this.options.onError(e, job))
      .finally(() => {
        this.active.delete(job.runbook);
        this.runs.delete(done);
      });
    this.runs.add(done);
  }

  private skip(job: Job, reason: SkipReason): void {
    this.track(this.record(job).then((ours) => (ours ? this.report(job, reason) : undefined)));
  }

  private announce(job: Job): void {
    if (this.state !== 'started' || this.announced.has(announceKey(job))) return;
    this.announced.add(announceKey(job));
    this.track((this.options.announce?.(job) ?? Promise.resolve()).catch((e: unknown) => this.options.onError(e, job)));
  }

  /**
   * Records the fire as handled; false when the state says it is not ours
   * (then nothing runs or is reported). A failed write is reported and the job
   * still goes ahead: the worst case is one catch-up run after a restart. (A
   * shared state never fails that way: it answers false instead, so a fire it
   * could not claim stays for whoever leads next.)
   */
  private async record(job: Job): Promise<boolean> {
    try {
      if (await this.options.state.markHandled(job.runbook, job.kind, job.scheduledAt)) return true;
      this.options.notOurs?.(job);
      return false;
    } catch (e) {
      this.options.onError(e, job);
      return true;
    }
  }

  private async report(job: Job, reason: SkipReason): Promise<void> {
    try {
      await this.options.skipped?.(job, reason);
    } catch (e) {
      this.options.onError(e, job);
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.bookkeeping.delete(tracked));
    this.bookkeeping.add(tracked);
  }
}

const announceKey = (job: Job) => `${slotKey(job.runbook, job.kind)}\u0000${job.scheduledAt.toISOString()}`;
