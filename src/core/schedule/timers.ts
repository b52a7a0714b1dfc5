/**
 * Timers reach the scheduler through a port, so tests move fake time and see
 * exactly which timers fire, in order, without waiting.
 */
import type { Clock, FakeClock } from '../clock.js';

/** Node's setTimeout takes at most 2^31-1 ms; longer delays fire after 1 ms (with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Timers {
  /** `ms` is at most MAX_TIMER_MS. */
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface Alarm {
  readonly at: Date;
  cancel(): void;
}

/**
 * Calls `fire` once, when `clock` reads `at` or later. Waits longer than
 * MAX_TIMER_MS in steps, and re-checks the clock when a timer goes off, so a
 * timer that fires early (or a clock that was set back) never fires the alarm
 * before its time.
 */
export function alarmAt(timers: Timers, clock: Clock, at: Date, fire: () => void): Alarm {
  let handle: unknown;
  let cancelled = false;
  const arm = () => {
    // A fast test clock (rate > 1) reaches `at` sooner in real time.
    const delay = Math.ceil(Math.max(0, at.getTime() - clock.now().getTime()) / (clock.rate ?? 1));
    handle = timers.setTimeout(tick, Math.min(delay, MAX_TIMER_MS));
  };
  const tick = () => {
    if (cancelled) return;
    if (clock.now().getTime() >= at.getTime()) fire();
    else arm();
  };
  arm();
  return {
    at,
    cancel() {
      cancelled = true;
      timers.clearTimeout(handle);
    },
  };
}

interface FakeTimer {
  id: number;
  due: number;
  fire: () => void;
}

/**
 * Timers for tests, on a FakeClock: nothing fires until `advance`, which moves
 * the clock to each due timer in turn (earliest first, then in the order set)
 * and fires it. Like Node, refuses delays over MAX_TIMER_MS — here loudly, so
 * a test proves the scheduler never asks for one.
 */
export class FakeTimers implements Timers {
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(private readonly clock: FakeClock) {}

  setTimeout(fire: () => void, ms: number): unknown {
    if (!(ms >= 0 && ms <= MAX_TIMER_MS)) throw new RangeError(`timer delay ${ms} ms is outside 0..${MAX_TIMER_MS}`);
    const timer = { id: this.nextId++, due: this.clock.now().getTime() + ms, fire };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** How many timers are set. */
  get size(): number {
    return this.timers.length;
  }

  /** Due times of the set timers, earliest first. */
  dueTimes(): Date[] {
    return this.timers.map((t) => t.due).sort((a, b) => a - b).map((ms) => new Date(ms));
  }

  advance(ms: number): void {
    this.advanceTo(new Date(this.clock.now().getTime() + ms));
  }

  /** Fires every timer due up to `to` (including ones set while firing), leaving the clock at `to`. */
  advanceTo(to: Date | string): void {
    const end = new Date(to).getTime();
    for (;;) {
      const next = this.timers.reduce<FakeTimer | undefined>((a, t) => (t.due <= end && (!a || t.due < a.due || (t.due === a.due && t.id < a.id)) ? t : a), undefined);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      if (next.due > this.clock.now().getTime()) this.clock.set(new Date(next.due));
      next.fire();
    }
    if (end > this.clock.now().getTime()) this.clock.set(new Date(end));
  }
}
