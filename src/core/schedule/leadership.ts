/**
 * Which of several `lifeboat serve` processes sharing one store runs the
 * scheduler (and the timers and deliveries that go with it): the holder of a
 * lease kept in the store, renewed every third of its time to live. Whoever
 * does not hold it keeps trying at the same pace, so a leader that dies (its
 * lease no longer renewed) is replaced within ttl + ttl/3.
 *
 * A leader that cannot renew (the store unreachable, the lease taken) steps
 * down before its lease could have lapsed in the store: at ttl − ttl/3 after
 * the last renewal that succeeded, counted from when that renewal was sent, on
 * this process's monotonic clock. So two processes never both think they lead
 * while the store agrees with neither; and the store refuses schedule marks of
 * a term that is over anyway (ScheduleState.markHandled answers false).
 *
 * The lease's times are the store's own clock, never a host's: hosts' clocks
 * may disagree, the store's is one.
 */
import type { ScheduleState } from './state.js';

/** One holder's hold on the lease; `epoch` grows with every new term. */
export interface LeaderTerm {
  holder: string;
  epoch: number;
}

export interface LeaseAnswer {
  /** The term this holder now holds (a renewal keeps the epoch), or undefined: another holds it. */
  term?: LeaderTerm;
  /** Who holds it when it is not us (for /healthz and the log). */
  leader?: { holder: string; expiresAt: Date };
}

/** The store's side (src/core/store/postgres/coordination.ts implements it). */
export interface LeaderLease {
  /** Takes the lease when it is free or lapsed, renews it when `holder` has it. */
  acquire(holder: string, ttlMs: number): Promise<LeaseAnswer>;
  /** Gives the lease up if `holder` has it (a clean stop: the next one need not wait it out). */
  release(holder: string): Promise<void>;
  /** The schedule state as of now, marking fires only while `term` holds the lease. */
  scheduleState(term: LeaderTerm): Promise<ScheduleState>;
}

export interface LeadershipOptions {
  lease: LeaderLease;
  holder: string;
  ttlMs: number;
  /** Monotonic milliseconds (performance.now in production). */
  monotonicMs(): number;
  /** This process now leads: start the scheduler. Resolves when started. */
  elected(term: LeaderTerm): Promise<void>;
  /** This process no longer leads: stop taking work. Running jobs may finish. */
  deposed(reason: string): Promise<void>;
  log(level: 'info' | 'warn', message: string): void;
}

export interface LeadershipView {
  leading: boolean;
  /** The holder that leads when it is not us, as last seen. */
  leader?: string;
}

export class Leadership {
  private term: LeaderTerm | undefined;
  private leaderSeen: string | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  /** Ticks, elections and depositions run one after another. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastProblem: string | undefined;

  constructor(private readonly options: LeadershipOptions) {
    if (!(options.ttlMs >= 1_000)) throw new RangeError(`the leader lease must last at least 1 s, got ${options.ttlMs} ms`);
  }

  get renewMs(): number {
    return Math.floor(this.options.ttlMs / 3);
  }

  view(): LeadershipView {
    return { leading: this.term !== undefined, ...(this.term === undefined && this.leaderSeen !== undefined ? { leader: this.leaderSeen } : {}) };
  }

  /** Tries at once, then every renewMs. */
  start(): Promise<void> {
    const first = this.enqueue(() => this.tick());
    this.tickTimer = setInterval(() => void this.enqueue(() => this.tick()), this.renewMs);
    return first;
  }

  /** Steps down (if leading) and gives the lease up, so another serve takes over at its next try. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    await this.enqueue(async () => {
      if (!this.term) return;
      await this.stepDown('this serve is stopping');
      await this.options.lease.release(this.options.holder).catch((e: unknown) => this.options.log('warn', `lifeboat serve: leader lease not released (the next leader waits for it to lapse): ${(e as Error).message}`));
    });
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const sentAt = this.options.monotonicMs();
    let answer: LeaseAnswer;
    try {
      answer = await this.options.lease.acquire(this.options.holder, this.options.ttlMs);
    } catch (e) {
      const problem = `leader lease not renewed: ${(e as Error).message}`;
      // Said once per problem, not every few seconds; the deadline steps down if it lasts.
      if (problem !== this.lastProblem) this.options.log('warn', `lifeboat serve: ${problem}`);
      this.lastProblem = problem;
      return;
    }
    this.lastProblem = undefined;
    if (this.stopped) return;
    if (!answer.term) {
      this.leaderSeen = answer.leader?.holder;
      if (this.term) await this.stepDown(`the lease is held by ${answer.leader?.holder ?? 'another serve'}`);
      return;
    }
    if (this.term && this.term.epoch !== answer.term.epoch) await this.stepDown('the lease lapsed before it was renewed');
    this.armDeadline(sentAt);
    if (!this.term) {
      this.term = answer.term;
      this.leaderSeen = undefined;
      this.options.log('info', `lifeboat serve: leading (lease term ${answer.term.epoch}, renewed every ${Math.round(this.renewMs / 1000)} s)`);
      try {
        await this.options.elected(answer.term);
      } catch (e) {
        this.options.log('warn', `lifeboat serve: could not start leading: ${(e as Error).message}`);
        await this.stepDown('starting failed');
        await this.options.lease.release(this.options.holder).catch(() => undefined);
      }
    }
  }

  /** Steps down unless a renewal sent after `sentAt` succeeds first: before the store could see the lease lapse. */
  private armDeadline(sentAt: number): void {
    if (this.deadline) clearTimeout(this.deadline);
    const at = sentAt + this.options.ttlMs - this.renewMs;
    // Not queued behind the ticks: a renewal that hangs must not hold the step-down back.
    const overdue = () => void this.stepDown(`the lease could not be renewed for ${Math.round((this.options.ttlMs - this.renewMs) / 1000)} s${this.lastProblem ? ` (${this.lastProblem})` : ''}`);
    this.deadline = setTimeout(overdue, Math.max(0, at - this.options.monotonicMs()));
    this.deadline.unref();
  }

  private async stepDown(reason: string): Promise<void> {
    if (!this.term) return;
    const term = this.term;
    this.term = undefined;
    if (this.deadline) clearTimeout(this.deadline);
    this.options.log('warn', `lifeboat serve: no longer leading (term ${term.epoch}): ${reason}`);
    await this.options.deposed(reason).catch((e: unknown) => this.options.log('warn', `lifeboat serve: stepping down: ${(e as Error).message}`));
  }
}
