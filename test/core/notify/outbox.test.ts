/**
 * The outbox's deliverer in one process: real HTTP to a recording server on
 * loopback, a fake clock for the retry times (the requests themselves are
 * real), a MemoryStore or the JSON store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { deliveriesFor } from '../../../src/core/notify/routing.js';
import { deliverDue, startOutboxLoop, type DeliveryProblem } from '../../../src/core/notify/outbox.js';
import type { Sink } from '../../../src/core/notify/sink.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import type { AlertRecord, AlertTransition } from '../../../src/core/store/records.js';
import type { Store } from '../../../src/core/store/store.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../helpers/recording-http.js';
import { httpTestSink, received } from './helpers/http-test-sink.js';

const servers: RecordingHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function receiver(): Promise<RecordingHttpServer> {
  const server = await startRecordingHttp();
  servers.push(server);
  return server;
}

const routes = { alerts: { notify: [{ sink: 'hook' }, { sink: 'chat' }], anomaly: { window: 10, minHistory: 5, threshold: 3.5 } } };

function alertOf(key: string, fields: Partial<AlertRecord> = {}): AlertRecord {
  return { key, runbook: 'app-data', rule: key.split(':')[0]!, severity: 'critical', message: `${key} holds`, firstSeen: '2026-03-10T12:00:00.000Z', lastSeen: '2026-03-10T12:00:00.000Z', count: 1, status: 'open', ...fields };
}

/** Writes a transition of `key` as evaluateAlerts would: the alert and its deliveries in one put. */
async function transition(store: Store, clock: FakeClock, key: string, kind: AlertTransition, sinks = routes): Promise<void> {
  const alert = alertOf(key, kind === 'resolved' ? { status: 'resolved', resolvedAt: clock.now().toISOString() } : {});
  await store.putAlert(alert, deliveriesFor({ alert, transition: kind, runbook: sinks, clock }));
}

function setup(sinks: Sink[]) {
  const store = new MemoryStore();
  const clock = new FakeClock('2026-03-10T12:00:00Z');
  const problems: DeliveryProblem[] = [];
  const map = new Map(sinks.map((s) => [s.name, s]));
  const deliver = (budgetMs = 5_000) => deliverDue({ store, sinks: map, clock, owner: 'test', budgetMs, random: () => 0.5, onProblem: (p) => problems.push(p) });
  return { store, clock, problems, deliver };
}

describe('deliverDue', () => {
  it('sends each due delivery once, records it delivered with the receipt, and hands the receipt to the next of that alert', async () => {
    const http = await receiver();
    const { store, clock, deliver } = setup([httpTestSink('hook', http.url), httpTestSink('chat', http.url)]);
    await transition(store, clock, 'failed-run:app-data', 'raised');
    await transition(store, clock, 'stale:app-data', 'raised');
    await transition(store, clock, 'failed-run:app-data', 'resolved');
    expect(await deliver()).toEqual({ delivered: 6, failed: 0, retrying: 0, left: 0 });
    expect(received(http.requests, 'hook')).toEqual(expect.arrayContaining(['raised failed-run:app-data → 200', 'raised stale:app-data → 200', 'resolved failed-run:app-data → 200']));
    expect(received(http.requests, 'hook')).toHaveLength(3);
    const hookFailed = received(http.requests, 'hook').filter((r) => r.includes('failed-run'));
    expect(hookFailed).toEqual(['raised failed-run:app-data → 200', 'resolved failed-run:app-data → 200']);
    const resolution = http.requests.find((r) => r.pathname === '/hook' && r.body.includes('"resolved"'))!;
    expect(JSON.parse(resolution.body).previous).toEqual({ status: '200', transition: 'raised' });
    expect(resolution.headers['idempotency-key']).toBe((await store.listDeliveries()).find((d) => d.sink === 'hook' && d.transition === 'resolved')!.id);
    expect((await store.listDeliveries()).every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
    // Nothing left: a second call sends nothing.
    expect(await deliver()).toEqual({ delivered: 0, failed: 0, retrying: 0, left: 0 });
    expect(http.requests).toHaveLength(6);
  });

  it('keeps order per alert while a sink fails and recovers: nothing later overtakes a retried message', async () => {
    const http = await receiver();
    const { store, clock, problems, deliver } = setup([httpTestSink('hook', http.url)]);
    const hookOnly = { alerts: { ...routes.alerts, notify: [{ sink: 'hook' }] } };
    await transition(store, clock, 'failed-run:app-data', 'raised', hookOnly);
    await transition(store, clock, 'failed-run:app-data', 'escalated', hookOnly);
    await transition(store, clock, 'failed-run:app-data', 'resolved', hookOnly);
    http.behave('/hook', { status: 500 });
    expect(await deliver()).toEqual({ delivered: 0, failed: 0, retrying: 1, left: 3 });
    expect(problems[0]!.message).toBe(`hook (${new URL(http.url).host}): HTTP 500 (attempt 1; next at 2026-03-10T12:00:05.000Z)`);
    // Not due yet: nothing is sent before its time, and the later ones wait behind it.
    clock.advance(4_000);
    expect(await deliver()).toMatchObject({ delivered: 0, retrying: 0 });
    clock.advance(1_000);
    expect(await deliver()).toMatchObject({ retrying: 1 });
    expect((await store.listDeliveries({ status: 'pending' })).find((d) => d.transition === 'raised')).toMatchObject({ attempts: 2, nextAttemptAt: '2026-03-10T12:00:15.000Z', lastError: expect.stringContaining('HTTP 500') });
    http.behave('/hook');
    clock.advance(10_000);
    expect(await deliver()).toEqual({ delivered: 3, failed: 0, retrying: 0, left: 0 });
    expect(received(http.requests, 'hook')).toEqual([
      'raised failed-run:app-data → 500',
      'raised failed-run:app-data → 500',
      'raised failed-run:app-data → 200',
      'escalated failed-run:app-data → 200',
      'resolved failed-run:app-data → 200',
    ]);
  });

  it('a permanent refusal marks the delivery failed; the alert\'s later messages still go', async () => {
    const http = await receiver();
    const { store, clock, problems, deliver } = setup([httpTestSink('hook', http.url)]);
    const hookOnly = { alerts: { ...routes.alerts, notify: [{ sink: 'hook' }] } };
    await transition(store, clock, 'stale:app-data', 'raised', hookOnly);
    http.behave('/hook', { status: 400 });
    expect(await deliver()).toMatchObject({ failed: 1, left: 0 });
    expect(problems[0]).toMatchObject({ permanent: true, message: expect.stringMatching(/HTTP 400 \(given up\)$/) });
    http.behave('/hook');
    await transition(store, clock, 'stale:app-data', 'resolved', hookOnly);
    expect(await deliver()).toMatchObject({ delivered: 1 });
    expect((await store.listDeliveries()).map((d) => `${d.transition} ${d.status}`)).toEqual(['resolved delivered', 'raised failed']);
  });

  it('a sink that cannot be reached is retried, its error naming the sink and host', async () => {
    const http = await receiver();
    const url = http.url;
    await http.close();
    servers.splice(servers.indexOf(http), 1);
    const { store, clock, deliver } = setup([httpTestSink('hook', url)]);
    await transition(store, clock, 'stale:app-data', 'raised', { alerts: { ...routes.alerts, notify: [{ sink: 'hook' }] } });
    expect(await deliver()).toMatchObject({ retrying: 1, left: 1 });
    expect((await store.listDeliveries())[0]).toMatchObject({ status: 'pending', attempts: 1, lastError: `hook (${new URL(url).host}): unreachable` });
  });

  it('leaves the deliveries of sinks it cannot build for a process that can', async () => {
    const http = await receiver();
    const { store, clock, deliver } = setup([httpTestSink('hook', http.url)]);
    await transition(store, clock, 'stale:app-data', 'raised');
    expect(await deliver()).toEqual({ delivered: 1, failed: 0, retrying: 0, left: 0 });
    expect((await store.listDeliveries({ status: 'pending' })).map((d) => d.sink)).toEqual(['chat']);
  });

  it('a send still running when the budget ends is aborted and retried later, not left claimed', async () => {
    const http = await receiver();
    http.behave('/hook', 'hang');
    const { store, clock, deliver } = setup([httpTestSink('hook', http.url)]);
    await transition(store, clock, 'stale:app-data', 'raised', { alerts: { ...routes.alerts, notify: [{ sink: 'hook' }] } });
    expect(await deliver(300)).toMatchObject({ retrying: 1, left: 1 });
    const [d] = await store.listDeliveries();
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastError: "hook (webhook): not finished within this process's delivery budget" });
    expect(d!.claimUntil).toBeUndefined();
  });
});

describe('startOutboxLoop', () => {
  it('delivers what is written while it runs, when woken, and stops leaving an unfinished send claimed (its claim lapses)', async () => {
    const http = await receiver();
    const store = new MemoryStore();
    const clock = new FakeClock('2026-03-10T12:00:00Z');
    const passes: number[] = [];
    // A long interval: only wake() can make it look again within the test.
    const loop = startOutboxLoop({ store, sinks: new Map([['hook', httpTestSink('hook', http.url)]]), clock, owner: 'serve', intervalMs: 600_000, onPass: (c) => passes.push(c.delivered) });
    const hookOnly = { alerts: { ...routes.alerts, notify: [{ sink: 'hook' }] } };
    await transition(store, clock, 'stale:app-data', 'raised', hookOnly);
    loop.wake();
    await http.waitFor((r) => r.pathname === '/hook');
    await until(async () => (await store.listDeliveries({ status: 'delivered' })).length === 1);

    http.behave('/hook', 'hang');
    await transition(store, clock, 'stale:app-data', 'resolved', hookOnly);
    loop.wake();
    await http.waitFor((r) => r.body.includes('"resolved"'));
    await loop.stop();
    const [pending] = await store.listDeliveries({ status: 'pending' });
    expect(pending).toMatchObject({ transition: 'resolved', attempts: 0, claimedBy: 'serve' });
    expect(passes).toContain(1);
  });
});

/** Polls `condition` until it holds, failing after a deadline. */
async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}
