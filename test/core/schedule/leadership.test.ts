/**
 * The leader election loop against a lease kept in memory (the PostgreSQL one
 * has its own test): elected once and renewed, deposed when another takes
 * the lease, stepping down on its own before its lease could lapse when
 * renewals fail, and giving the lease up on stop. Fake timers: no waiting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Leadership, type LeaderLease, type LeaderTerm, type LeaseAnswer } from '../../../src/core/schedule/leadership.js';
import type { ScheduleState } from '../../../src/core/schedule/state.js';

/** One lease, expiring on the (fake) clock; `failing` makes every call throw like an unreachable store. */
class MemoryLease implements LeaderLease {
  holder: string | undefined;
  epoch = 0;
  expiresAt = 0;
  failing = false;
  released: string[] = [];

  async acquire(holder: string, ttlMs: number): Promise<LeaseAnswer> {
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const now = Date.now();
    if (this.holder !== holder || this.expiresAt <= now) {
      if (this.holder !== undefined && this.holder !== holder && this.expiresAt > now) return { leader: { holder: this.holder, expiresAt: new Date(this.expiresAt) } };
      this.epoch++;
      this.holder = holder;
    }
    this.expiresAt = now + ttlMs;
    return { term: { holder, epoch: this.epoch } };
  }
  async release(holder: string): Promise<void> {
    this.released.push(holder);
    if (this.holder === holder) this.expiresAt = Date.now();
  }
  async scheduleState(): Promise<ScheduleState> {
    return { lastHandled: () => undefined, markHandled: async () => true };
  }
}

function leader(lease: MemoryLease, holder: string, ttlMs = 15_000) {
  const events: string[] = [];
  const l = new Leadership({
    lease,
    holder,
    ttlMs,
    monotonicMs: () => Date.now(),
    elected: async (term: LeaderTerm) => void events.push(`elected ${term.epoch}`),
    deposed: async (reason: string) => void events.push(`deposed: ${reason}`),
    log: () => undefined,
  });
  return { l, events };
}

beforeEach(() => vi.useFakeTimers({ now: new Date('2026-03-02T10:00:00Z') }));
afterEach(() => vi.useRealTimers());

describe('Leadership', () => {
  it('is elected once and renews every third of the lease, keeping the term', async () => {
    const lease = new MemoryLease();
    const { l, events } = leader(lease, 'a');
    await l.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual(['elected 1']);
    expect(l.view()).toEqual({ leading: true });
    expect(lease.expiresAt - Date.now()).toBeGreaterThan(10_000);
    await l.stop();
  });

  it('a follower takes over within the lease and a third of the leader dying, with a new term', async () => {
    const lease = new MemoryLease();
    const a = leader(lease, 'a');
    const b = leader(lease, 'b');
    await a.l.start();
    await b.l.start();
    expect(b.l.view()).toEqual({ leading: false, leader: 'a' });
    // A dies: its timers stop, nothing renews its lease.
    const diedAt = Date.now();
    await a.l.stop();
    lease.expiresAt = diedAt + 15_000; // as if A had not released (SIGKILL)
    lease.released = [];
    let tookMs = 0;
    while (!b.l.view().leading) {
      await vi.advanceTimersByTimeAsync(1_000);
      tookMs = Date.now() - diedAt;
    }
    expect(tookMs).toBeLessThanOrEqual(20_000);
    expect(b.events).toEqual(['elected 2']);
    await b.l.stop();
  });

  it('steps down when another holds the lease (it lapsed before a renewal)', async () => {
    const lease = new MemoryLease();
    const { l, events } = leader(lease, 'a');
    await l.start();
    lease.holder = 'b';
    lease.epoch++;
    lease.expiresAt = Date.now() + 60_000;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events).toEqual(['elected 1', 'deposed: the lease is held by b']);
    expect(l.view()).toEqual({ leading: false, leader: 'b' });
    await l.stop();
  });

  it('with the store unreachable, steps down before its lease could lapse, and leads again when it answers', async () => {
    const lease = new MemoryLease();
    const { l, events } = leader(lease, 'a');
    await l.start();
    lease.failing = true;
    const lapsesAt = lease.expiresAt;
    while (l.view().leading) await vi.advanceTimersByTimeAsync(100);
    expect(Date.now()).toBeLessThan(lapsesAt);
    expect(events[1]).toMatch(/^deposed: the lease could not be renewed for 10 s \(leader lease not renewed: connect ECONNREFUSED/);
    lease.failing = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events).toHaveLength(3);
    expect(events[2]).toMatch(/^elected \d+$/);
    await l.stop();
  });

  it('stop steps down and gives the lease up at once', async () => {
    const lease = new MemoryLease();
    const { l, events } = leader(lease, 'a');
    await l.start();
    await l.stop();
    expect(events).toEqual(['elected 1', 'deposed: this serve is stopping']);
    expect(lease.released).toEqual(['a']);
    expect(lease.expiresAt).toBeLessThanOrEqual(Date.now());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toHaveLength(2);
  });
});
