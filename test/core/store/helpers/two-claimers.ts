/**
 * The two-process outbox test, for any store: 40 alerts, each raised to sinks
 * `a` and `b` and then resolved to `a`; two worker processes claim and
 * deliver at once. Every delivery must be claimed exactly once, by one of
 * them, both must take part, and per alert and sink the raise must be
 * recorded delivered before its resolution was tried.
 */
import { expect } from 'vitest';
import type { DeliveryRecord } from '../../../../src/core/store/records.js';
import type { Store } from '../../../../src/core/store/store.js';
import { alert, delivery } from './records.js';
import type { Worker } from './spawn-worker.js';

const ALERTS = 40;

/** Writes the outbox; returns every delivery id written. */
export async function seedOutbox(store: Store): Promise<string[]> {
  const expected: string[] = [];
  for (let i = 0; i < ALERTS; i++) {
    const key = `failed-run:rb-${i}`;
    await store.putAlert(alert(key), [delivery(`${key}/raised/a`, key, 'a'), delivery(`${key}/raised/b`, key, 'b')]);
    await store.putAlert(alert(key, { status: 'resolved' }), [delivery(`${key}/resolved/a`, key, 'a', { transition: 'resolved' })]);
    expected.push(`${key}/raised/a`, `${key}/raised/b`, `${key}/resolved/a`);
  }
  return expected;
}

/** Starts both workers together and checks what they claimed. */
export async function expectEachClaimedOnce(workers: Worker[], expected: readonly string[]): Promise<void> {
  await Promise.all(workers.map((w) => w.waitFor((l) => l === 'ready')));
  for (const w of workers) w.child.stdin.write('go\n');
  const ends = await Promise.all(workers.map((w) => w.exited));
  for (const end of ends) expect(end, end.stderr).toMatchObject({ code: 0 });
  const claimed = workers.flatMap((w) => w.lines.filter((l) => l.startsWith('claimed ')).map((l) => l.slice('claimed '.length)));
  expect(claimed.length).toBe(expected.length);
  expect(new Set(claimed)).toEqual(new Set(expected));
  // Both took part (the test is about sharing, not one process doing it all).
  for (const w of workers) expect(w.lines.some((l) => l.startsWith('claimed '))).toBe(true);
}

/** Every delivery delivered on its first attempt, each alert's raise before its resolution. */
export function expectDeliveredInOrder(all: readonly DeliveryRecord[]): void {
  expect(all.every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
  const of = (id: string) => all.find((d) => d.id === id)!;
  for (let i = 0; i < ALERTS; i++) {
    expect(Date.parse(of(`failed-run:rb-${i}/raised/a`).deliveredAt!)).toBeLessThanOrEqual(Date.parse(of(`failed-run:rb-${i}/resolved/a`).lastAttemptAt!));
  }
}
