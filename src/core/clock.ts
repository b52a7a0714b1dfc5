/** Time reaches the core through a Clock so RPO, RTO and retention logic can run on fake time. */
export interface Clock {
  now(): Date;
  /** Monotonic milliseconds, for measuring durations (RTO, stage timings). */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
};

/** A clock for tests: time moves only when told. */
export class FakeClock implements Clock {
  private ms: number;
  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.ms = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.ms);
  }
  monotonicMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(to: Date | string): void {
    this.ms = new Date(to).getTime();
  }
}

/**
 * Real time, shifted so that it reads `start` at the moment of creation and
 * runs at the normal rate from there. Lets a test drive a long-running process
 * (serve) to just before a cron boundary without waiting for the wall clock.
 */
export function shiftedClock(start: Date, base: Clock = systemClock): Clock {
  const offset = start.getTime() - base.now().getTime();
  return {
    now: () => new Date(base.now().getTime() + offset),
    monotonicMs: () => base.monotonicMs(),
  };
}

/**
 * The process clock: the system clock, or — when LIFEBOAT_TEST_NOW holds an
 * ISO time — a shifted one (tests only; a bad value is an error, not ignored).
 */
export function clockFromEnv(env: Readonly<Record<string, string | undefined>>): Clock {
  const text = env.LIFEBOAT_TEST_NOW;
  if (text === undefined || text === '') return systemClock;
  const start = new Date(text);
  if (Number.isNaN(start.getTime())) throw new Error(`LIFEBOAT_TEST_NOW is not an ISO time: "${text}"`);
  return shiftedClock(start);
}
