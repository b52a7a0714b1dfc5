/** Time reaches the core through a Clock so RPO, RTO and retention logic can run on fake time. */
export interface Clock {
  now(): Date;
  /** Monotonic milliseconds, for measuring durations (RTO, stage timings). */
  monotonicMs(): number;
  /**
   * How many of this clock's milliseconds pass per real one (absent: 1). Only
   * a test clock runs fast; timers (src/core/schedule/timers.ts) divide by it.
   */
  readonly rate?: number;
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
 * runs `rate` times the normal rate from there (default 1). Lets a test drive a
 * long-running process (serve) to just before a cron boundary, and through
 * many fires, without waiting for the wall clock.
 */
export function shiftedClock(start: Date, base: Clock = systemClock, rate = 1, origin = base.now().getTime()): Clock {
  const offset = start.getTime() - origin;
  if (rate === 1) {
    return {
      now: () => new Date(base.now().getTime() + offset),
      monotonicMs: () => base.monotonicMs(),
    };
  }
  return {
    now: () => new Date(start.getTime() + (base.now().getTime() - origin) * rate),
    monotonicMs: () => base.monotonicMs(),
    rate,
  };
}

/**
 * The process clock: the system clock, or — when LIFEBOAT_TEST_NOW holds an
 * ISO time and/or LIFEBOAT_TEST_CLOCK_RATE a speed-up — a shifted one (tests
 * only: they make a minute's schedule fire every few seconds; a bad value is
 * an error, not ignored). The clock reads LIFEBOAT_TEST_NOW at the real time
 * LIFEBOAT_TEST_CLOCK_ORIGIN (epoch ms), default this process's start: two
 * processes given one origin read the same fast time.
 */
export function clockFromEnv(env: Readonly<Record<string, string | undefined>>): Clock {
  const text = env.LIFEBOAT_TEST_NOW ?? '';
  const rateText = env.LIFEBOAT_TEST_CLOCK_RATE ?? '';
  if (text === '' && rateText === '') return systemClock;
  const start = text === '' ? new Date() : new Date(text);
  if (Number.isNaN(start.getTime())) throw new Error(`LIFEBOAT_TEST_NOW is not an ISO time: "${text}"`);
  const rate = rateText === '' ? 1 : Number(rateText);
  if (!(Number.isFinite(rate) && rate >= 1 && rate <= 1000)) throw new Error(`LIFEBOAT_TEST_CLOCK_RATE must be a number from 1 to 1000: "${rateText}"`);
  const originText = env.LIFEBOAT_TEST_CLOCK_ORIGIN ?? '';
  const origin = originText === '' ? Date.now() : Number(originText);
  if (!Number.isSafeInteger(origin)) throw new Error(`LIFEBOAT_TEST_CLOCK_ORIGIN must be epoch milliseconds: "${originText}"`);
  return shiftedClock(start, systemClock, rate, origin);
}
